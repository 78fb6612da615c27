"""README.md runs as written: every code block, in order, in a fresh folder, one Python session.

The first block (a fresh virtual environment, the demo, the extras and the test suite) is run
by ``.ci/run`` itself, which reads it out of README.md; every other block runs here. A block
under ``<!-- file: NAME -->`` is a file the others use: it is written, not run. Bash blocks
run with ``set -euo pipefail``; Python blocks share one interpreter, as in a notebook.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # every README block, the demo and a Dask cluster included: not in the quick tier

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FILE = re.compile(r"<!--\s*file:\s*(\S+)\s*-->")

# Runs the blocks in order: Python ones in this interpreter's one namespace, bash ones in a
# shell; stops at the first failure, naming the block and its first line.
DRIVER = textwrap.dedent('''
    import json, subprocess, sys, traceback

    def main():
        blocks = json.load(open(sys.argv[1]))
        namespace = {"__name__": "__readme__"}
        for number, (lang, code) in blocks:
            print(f"--- block {number} ({lang}): {code.splitlines()[0]}", flush=True)
            if lang == "python":
                try:
                    exec(compile(code, f"README.md block {number}", "exec"), namespace)
                except BaseException:
                    traceback.print_exc()
                    sys.exit(f"README.md block {number} (python) failed")
            else:
                status = subprocess.run(["bash", "-euo", "pipefail", "-c", code]).returncode
                if status:
                    sys.exit(f"README.md block {number} (bash) exited {status}")
        print("--- all blocks ran", flush=True)

    if __name__ == "__main__":     # dask's spawned workers import this file: they must not run it
        main()
''')


def blocks(text: str) -> list[tuple[int, str, str, str | None]]:
    """(number from 1, language, code, file name or None) of each fenced block of a Markdown text."""
    markdown_it = pytest.importorskip("markdown_it")
    tokens = markdown_it.MarkdownIt("commonmark").parse(text)
    out: list[tuple[int, str, str, str | None]] = []
    for i, token in enumerate(tokens):
        if token.type == "fence":
            before = tokens[i - 1] if i else None
            match = FILE.fullmatch(before.content.strip()) if before is not None and before.type == "html_block" else None
            out.append((len(out) + 1, token.info.strip(), token.content, match.group(1) if match else None))
    return out


def test_every_block_is_bash_or_python_and_files_are_named():
    """The README's blocks are all bash or python, so that each one is run or written here."""
    found = blocks(README.read_text(encoding="utf-8"))
    assert len(found) >= 10
    assert {lang for _, lang, _, _ in found} == {"bash", "python"}
    assert {name for *_, name in found if name} == {"train.py", "test_parse.py"}


def test_ci_runs_the_first_block_itself():
    """.ci/run reads README.md's first code block and runs it: a fresh venv, install, demo, tests."""
    first = blocks(README.read_text(encoding="utf-8"))[0]
    assert first[1] == "bash" and "python3 -m venv .venv" in first[2] and ".venv/bin/frugal demo" in first[2]
    assert ".venv/bin/python -m pytest" in first[2]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci and "first_block" in ci and 'bash -euo pipefail -c "$(first_block)"' in ci


def test_the_readme_runs_as_written(tmp_path):
    """Every block after the first runs, in order, in an empty folder where .venv is this
    environment: the commands exit 0, the Python raises nothing, and what they write is there."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("not in a virtual environment: the README activates .venv (python -m venv .venv)")
    for program in ("gzip", "zstd", "seq"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is absent (apt-get install {program}); .ci/run installs it")
    found = blocks(README.read_text(encoding="utf-8"))[1:]
    for _, _, code, name in found:
        if name:
            (tmp_path / name).write_text(code, encoding="utf-8")
    runs = [(number, lang, code) for number, lang, code, name in found if not name]
    (tmp_path / ".venv").symlink_to(sys.prefix)
    (tmp_path / ".blocks.json").write_text(json.dumps([[n, [lang, code]] for n, lang, code in runs]))
    (tmp_path / ".driver.py").write_text(DRIVER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRUGAL_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run([sys.executable, ".driver.py", ".blocks.json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    assert proc.stdout.rstrip().endswith("--- all blocks ran")
    for written in ("frugal-demo/dashboard.html", "frugal.db", "cmp.md", "dashboard.html", "energy.png",
                    "profile.html", "p.json", ".frugal/baselines/main.json", "big.txt.gz", "big.txt.zst"):
        assert (tmp_path / written).exists(), written
    assert "| Command |" in (tmp_path / "cmp.md").read_text()
