"""What ``pip install frugal`` brings in, beside CodeCarbon alone and the floor of frugal's own needs.

    python benchmarks/install_size.py [--before REF] [--skip NAME ...]

Each line is a fresh virtual environment (``python -m venv``) with one ``pip install``: this
checkout of frugal without extras, frugal with the CodeCarbon extra, frugal at ``--before``
(a git revision, default a97e7a1: before the tables moved into frugal/data), CodeCarbon alone
(the pinned 3.3.2) and psutil + pandas + matplotlib (what frugal's core imports). Packages
are those ``pip list`` shows, pip and setuptools aside; size is every file under
site-packages, pip and setuptools included, in MB (10^6 bytes). Needs a package index.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("scipy", "codecarbon", "pycountry")


def clean_env() -> dict[str, str]:
    """The environment without PYTHONPATH and frugal's variables (a venv must not see this checkout's)."""
    return {k: v for k, v in os.environ.items()
            if k != "PYTHONPATH" and not k.startswith(("FRUGAL_", "PIP_REQUIRE_VIRTUALENV"))}


def venv(folder: Path, *requirements: str) -> Path:
    """A fresh virtual environment in ``folder`` with ``requirements`` installed; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, env=clean_env())
    python = folder / "bin" / "python"
    out = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          *requirements], capture_output=True, text=True, env=clean_env())
    if out.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(requirements)} failed:\n{out.stderr[-3000:]}")
    return python


def footprint(python: Path) -> tuple[list[str], int]:
    """(packages pip lists, pip and setuptools aside; bytes of every file under site-packages)."""
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         capture_output=True, text=True, check=True, env=clean_env())
    names = sorted(p["name"].lower() for p in json.loads(out.stdout) if p["name"].lower() not in ("pip", "setuptools"))
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, env=clean_env()).stdout.strip()
    size = sum(f.stat().st_size for f in Path(site).rglob("*") if f.is_file() and not f.is_symlink())
    return names, size


def checkout(ref: str, into: Path) -> Path:
    """The tree of git revision ``ref`` of this repository, written into ``into`` (git archive)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="a97e7a1", help="git revision of frugal to compare with")
    parser.add_argument("--skip", nargs="*", default=[], help="names of lines to leave out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="frugal-install-") as tmp:
        work = Path(tmp)
        lines = {
            "pip install frugal (this checkout)": [str(ROOT)],
            "pip install 'frugal[codecarbon]'": [f"{ROOT}[codecarbon]"],
            f"pip install frugal ({args.before}, before)": [str(checkout(args.before, work / "before"))],
            "CodeCarbon 3.3.2 alone": ["codecarbon==3.3.2"],
            "psutil + pandas + matplotlib (floor)": ["psutil", "pandas", "matplotlib"],
        }
        rows = []
        for i, (label, reqs) in enumerate(lines.items()):
            if label.split()[0] in args.skip or label in args.skip:
                continue
            names, size = footprint(venv(work / f"v{i}", *reqs))
            rows.append((label, names, size))
            print(f"{label:<44} {len(names):>3} packages {size / 1e6:8.1f} MB   "
                  f"heavy: {', '.join(n for n in names if n in HEAVY) or 'none'}", flush=True)
        codecarbon = next((size for label, _, size in rows if label.startswith("CodeCarbon")), None)
        if codecarbon:
            print("\nsize / CodeCarbon alone:")
            for label, _, size in rows:
                print(f"  {label:<44} {size / codecarbon:5.2f}x")
        print(f"\nPython {sys.version.split()[0]}; packages of this checkout: "
              f"{', '.join(rows[0][1]) if rows else ''}")


if __name__ == "__main__":
    main()
