"""``frugal profile -- python script.py``: the script runs as python would run it, its exit status passes through."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from frugal.cli.script import NotAScript, exit_status, script_of

pytestmark = pytest.mark.slow   # every test runs the command line in a subprocess: not in the quick tier

SCRIPT = textwrap.dedent("""
    import json, pickle, sys, threading, time
    import helper                                  # beside the script: sys.path[0] is its folder

    class Point:                                   # pickling finds it in __main__
        pass

    def crunch(seconds):
        t0 = time.thread_time()
        while time.thread_time() - t0 < seconds:
            pass

    def in_thread():
        crunch(0.1)

    if __name__ == "__main__":
        threading.Thread(target=in_thread).start()     # left running: waited for, as python does
        crunch(0.2)
        pickle.dumps(Point())
        print(json.dumps({"argv": sys.argv, "helper": helper.VALUE, "name": __name__}))
        if "--fail" in sys.argv:
            raise RuntimeError("the script failed")
        sys.exit(int(sys.argv[1]))
""")


@pytest.fixture
def script(tmp_path: Path) -> Path:
    (tmp_path / "helper.py").write_text("VALUE = 42\n")
    path = tmp_path / "work.py"
    path.write_text(SCRIPT)
    return path


def frugal_profile(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "frugal", "profile", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_the_script_runs_as_python_runs_it_and_its_exit_status_passes_through(script: Path) -> None:
    """sys.argv, __main__ and sys.path are the script's; exit 3 gives 3; the outputs are written."""
    proc = frugal_profile("-o", "p.html", "--export-speedscope", "p.json", "--export-collapsed", "p.folded",
                          "--", "python3", str(script), "3", "--flag", cwd=script.parent)
    assert proc.returncode == 3, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen == {"argv": [str(script), "3", "--flag"], "helper": 42, "name": "__main__"}
    assert "the functions that spent the most energy" in proc.stderr
    assert "crunch" in proc.stderr and "work.py" in proc.stderr
    assert "flame graph: p.html" in proc.stderr
    html = (script.parent / "p.html").read_text()
    assert "crunch" in html and "in_thread" in html          # the thread it left running was waited for
    doc = json.loads((script.parent / "p.json").read_text())
    assert doc["$schema"].startswith("https://www.speedscope.app/")
    folded = (script.parent / "p.folded").read_text()
    assert "\n<module> (work.py:1);crunch (work.py:8) " in "\n" + folded   # stacks start at the script
    assert not any(name in folded for name in ("script.py", "profile.py", "parser.py", "runpy", "__main__.py"))


def test_an_uncaught_exception_prints_python_s_traceback_and_exits_1(script: Path) -> None:
    """Exit status 1, the traceback from the script's own frames, and the profile still written."""
    proc = frugal_profile("--", "python", str(script), "0", "--fail", cwd=script.parent)
    assert proc.returncode == 1
    assert "RuntimeError: the script failed" in proc.stderr
    traceback = proc.stderr.split("Traceback (most recent call last):")[1].split("RuntimeError")[0]
    assert "work.py" in traceback and "frugal" not in traceback
    assert (script.parent / "profile.html").exists()


def test_a_script_named_directly_and_exit_zero(script: Path) -> None:
    """SCRIPT.py ARGS without python works too."""
    proc = frugal_profile("--interval", "2", "--", str(script), "0", cwd=script.parent)
    assert proc.returncode == 0, proc.stderr
    assert "samples every 2 ms" in proc.stderr


@pytest.mark.parametrize("command, message", [
    (["ls", "-l"], "'ls' is not a Python script"),
    (["python", "-m", "http.server"], "python options such as -m are not supported"),
    (["python"], "without a script"),
    (["python", "missing.py"], "no such script: missing.py"),
    ([], "no script given"),
])
def test_what_is_not_a_python_script_is_a_usage_error(tmp_path: Path, command: list[str], message: str) -> None:
    """Exit status 2 and one line that says what is wrong."""
    proc = frugal_profile("--", *command, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "profile.html").exists()


def test_an_output_of_another_kind_is_refused_before_the_script_runs(script: Path) -> None:
    """-o pointing at a store: exit 2 and the script never ran; --force overwrites."""
    store = script.parent / "frugal.db"
    store.write_bytes(b"SQLite format 3\x00" + bytes(100))
    proc = frugal_profile("-o", str(store), "--", "python", str(script), "0", cwd=script.parent)
    assert proc.returncode == 2 and "not an HTML page written by frugal" in proc.stderr
    assert proc.stdout == ""
    proc = frugal_profile("-o", str(store), "--force", "--", "python", str(script), "0", cwd=script.parent)
    assert proc.returncode == 0 and store.read_text().startswith("<!DOCTYPE html>")


def test_script_of_reads_the_command(tmp_path: Path) -> None:
    """python[3[.11]] SCRIPT ARGS, SCRIPT.py ARGS and #!python scripts are scripts; a binary is not."""
    py = tmp_path / "a.py"
    py.write_text("pass\n")
    tool = tmp_path / "tool"
    tool.write_text("#!/usr/bin/env python3\npass\n")
    binary = tmp_path / "prog"
    binary.write_bytes(b"\x7fELF\x02\x01")
    assert script_of(["python3.11", str(py), "x"]) == (str(py), ["x"])
    assert script_of([sys.executable, str(py)]) == (str(py), [])
    assert script_of([str(tool), "-v"]) == (str(tool), ["-v"])
    with pytest.raises(NotAScript, match="not a Python script"):
        script_of([str(binary)])
    assert (exit_status(None), exit_status(3), exit_status(256 + 4), exit_status(False)) == (0, 3, 4, 0)
    assert exit_status("bye") == 1
