"""The frugal command line: whole-process measurement, comparisons, exit statuses, errors, demo."""
from __future__ import annotations

import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import frugal
from frugal.cli import parser as cli
from frugal.pages.text import LABEL
from frugal.units import label_of

PY = sys.executable
FRUGAL = [PY, "-m", "frugal"]
ALLOC_60MB = f"{PY} -c 'x = bytearray(60 * 2**20); x[::4096] = b\"1\" * len(x[::4096])'"
# memory as compared and shown: what a run added, where this frugal records it
# whole processes are shown and compared by their peak resident set, what the kernel gives
MEMORY = "peak_rss_bytes"


def frugal_cmd(*args: str, cwd: Path | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*FRUGAL, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


# --- frugal run --------------------------------------------------------------------------------

def test_run_exits_with_the_commands_status_and_stores_the_run(tmp_path):
    """frugal run returns the command's own exit status and stores its run, error and all."""
    db = tmp_path / "f.db"
    proc = frugal_cmd("run", "--store", str(db), "--name", "three", "--", "sh", "-c", "exit 3")
    assert proc.returncode == 3, proc.stderr
    row = frugal.load(db).iloc[0]
    assert (row["name"], row["status"], row["error"]) == ("three", "error", "exit status 3")
    assert row["children"] and row["scope"] == "process"
    assert row["program"] == "frugal run"


def test_a_failing_run_explains_itself_and_the_good_runs_are_kept(tmp_path):
    """A command that fails after its first run (as `gzip -k` does once its output exists):
    frugal run prints each failure's exit status and the end of its stderr, stores that text
    with the run, keeps the successful run and exits with the command's status."""
    db = tmp_path / "f.db"
    script = "if [ -e out ]; then echo compressing >&2; echo out: already exists >&2; exit 2; fi; touch out"
    proc = frugal_cmd("run", "--repeat", "3", "--store", str(db), "--name", "once", "--", "sh", "-c", script,
                      cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("out: already exists") == 2 + 2      # passed through live, then explained
    assert "frugal run: run 2 of 3 failed: exit status 2: compressing / out: already exists" in proc.stderr
    assert "frugal run: run 3 of 3 failed: exit status 2: compressing / out: already exists" in proc.stderr
    stored = frugal.load(db)
    assert stored["status"].tolist() == ["ok", "error", "error"]
    assert stored["error"].tolist()[1:] == ["exit status 2: compressing / out: already exists"] * 2


def test_run_json_carries_the_failure_text(tmp_path):
    """--json: each run's error holds the exit status and the end of stderr; stdout is JSON alone."""
    proc = frugal_cmd("run", "--json", "--no-store", "--", "sh", "-c", "echo to stdout; echo broken pipe >&2; exit 5")
    assert proc.returncode == 5
    data = json.loads(proc.stdout)
    assert data["exit_status"] == 5 and data["runs"][0]["error"] == "exit status 5: broken pipe"
    assert data["runs"][0]["started_at"].endswith("+00:00") and data["runs"][0]["wall_s"] > 0


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["info"], ["info", "--json"],
                                  ["run", "--no-store", "--", "true"], ["run", "--json", "--", "true"],
                                  ["merge", "--help"]])
@pytest.mark.slow
def test_light_commands_import_neither_pandas_nor_matplotlib(tmp_path, argv):
    """frugal run, frugal info, frugal merge and --help never import pandas or matplotlib (they cost
    seconds); tests/test_merge.py checks a real merge too."""
    code = ("import sys; from frugal import cli\n"
            "try:\n    status = cli.main(sys.argv[1:])\nexcept SystemExit as exc:\n    status = exc.code\n"
            "heavy = sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules)\n"
            "print('HEAVY', heavy, file=sys.stderr); raise SystemExit(status)")
    proc = subprocess.run([PY, "-c", code, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["compare", "--help"]])
def test_help_imports_no_numpy(tmp_path, argv):
    """Help is read often and at once: it imports no numpy (about 0.1 s a start)."""
    code = ("import sys; from frugal import cli\n"
            "try:\n    status = cli.main(sys.argv[1:])\nexcept SystemExit as exc:\n    status = exc.code\n"
            "print('NUMPY', 'numpy' in sys.modules, file=sys.stderr); raise SystemExit(status)")
    proc = subprocess.run([PY, "-c", code, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "NUMPY False" in proc.stderr


@pytest.mark.parametrize("argv", [["run", "--", "true"], ["run", "--no-store", "--", "true"],
                                  ["run", "--json", "--", "true"]])
def test_run_imports_no_numpy(tmp_path, argv):
    """``frugal run -- true`` derives its row and stores it without numpy (about 0.1 s a start)."""
    code = ("import sys; from frugal import cli\n"
            "try:\n    status = cli.main(sys.argv[1:])\nexcept SystemExit as exc:\n    status = exc.code\n"
            "print('NUMPY', 'numpy' in sys.modules, file=sys.stderr); raise SystemExit(status)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRUGAL_")}
    proc = subprocess.run([PY, "-c", code, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    assert "NUMPY False" in proc.stderr
    if "--no-store" not in argv:
        assert len(frugal.load(tmp_path / "frugal.db")) == 1


def test_run_imports_only_what_it_uses(tmp_path):
    """``frugal run`` imports no other command's module, not the default store's writer and
    multiprocessing, and not statistics or json (its start-up: issue 34; typing is not either,
    but the tests' network guard imports it)."""
    code = ("import sys; from frugal import cli\n"
            "status = cli.main(sys.argv[1:])\n"
            "print('LOADED', sorted(m for m in sys.modules if m.startswith('frugal.cli.') or m in "
            "('frugal.store.default', 'multiprocessing', 'statistics', 'json')), file=sys.stderr)\n"
            "raise SystemExit(status)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRUGAL_")}
    proc = subprocess.run([PY, "-c", code, "run", "--no-store", "--", "true"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED ['frugal.cli.common', 'frugal.cli.parser', 'frugal.cli.run']" in proc.stderr


def test_the_command_line_keeps_its_imports_out_of_the_collector_and_a_caller_s_alone(monkeypatch):
    """``main()`` of a process's own command line freezes what it made (gc.freeze: the
    collections skip it); ``main(argv)``, called by a program, leaves the collector as it was."""
    import gc

    gc.unfreeze()
    try:
        assert cli.main(["run", "--no-store", "--", "true"]) == 0
        assert gc.get_freeze_count() == 0
        monkeypatch.setattr(sys, "argv", ["frugal", "run", "--no-store", "--", "true"])
        assert cli.main() == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_run_counts_the_memory_and_cpu_of_waited_children(tmp_path):
    """Peak memory and CPU include a grandchild that the command waited for."""
    db = tmp_path / "f.db"
    proc = frugal_cmd("run", "--store", str(db), "--", "sh", "-c", ALLOC_60MB)
    assert proc.returncode == 0, proc.stderr
    row = frugal.load(db).iloc[0]
    assert row["peak_rss_bytes"] >= 60 * 2**20
    assert row["cpu_s"] == pytest.approx(row["cpu_user_s"] + row["cpu_system_s"])
    assert row["cpu_s"] > 0


def test_run_peak_memory_is_the_commands_not_frugals(tmp_path, capfd):
    """A small command measured from a process holding 300 MiB reports its own small peak."""
    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"1" * len(ballast[::4096])     # resident, not just reserved
    db = tmp_path / "f.db"
    assert cli.main(["run", "--store", str(db), "--", "true"]) == 0
    peak = frugal.load(db)["peak_rss_bytes"].iloc[0]
    assert 0 < peak < 32 * 2**20
    del ballast


def test_run_repeat_json_and_output_routing(tmp_path):
    """--repeat N stores N runs under one run id; --json keeps stdout for JSON alone."""
    db = tmp_path / "f.db"
    proc = frugal_cmd("run", "--repeat", "3", "--json", "--store", str(db), "--", "echo", "hello")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["exit_status"] == 0 and len(data["runs"]) == 3
    assert {r["status"] for r in data["runs"]} == {"ok"}
    assert proc.stderr.count("hello") == 3
    stored = frugal.load(db)
    assert len(stored) == 3 and stored["run_id"].nunique() == 1


def test_run_prints_a_table(tmp_path):
    """Without --json, a table with the run's figures goes to stderr."""
    proc = frugal_cmd("run", "--no-store", "--", "true")
    assert proc.returncode == 0
    assert LABEL[MEMORY] in proc.stderr and "energy" in proc.stderr and "ok" in proc.stderr
    assert not (tmp_path / "frugal.db").exists()


def test_run_and_compare_call_a_process_peak_memory_what_it_is():
    """A command's memory is its peak resident set: never labelled "mem added" (a region's own)."""
    run = frugal_cmd("run", "--no-store", "--", "true")
    compare = frugal_cmd("compare", "true", "sh -c true", "--runs", "3", "--warmup", "0", "--no-store")
    for out in (run.stderr, compare.stdout):
        assert "peak mem" in out and "mem added" not in out and "memory added" not in out


@pytest.mark.parametrize("command, status, words", [
    (["no-such-command-frugal"], 127, "command not found"),
    (["./data.txt"], 126, "permission denied"),
    (["./missing/tool"], 127, "no such file"),
])
def test_a_command_that_cannot_start_exits_as_a_shell_does(tmp_path, command, status, words):
    """Not found exits 127, not executable 126, with one line on stderr and nothing stored."""
    db = tmp_path / "f.db"
    (tmp_path / "data.txt").write_text("not a program\n")     # mode 644: not executable
    proc = frugal_cmd("run", "--store", str(db), "--", *command, cwd=tmp_path)
    assert proc.returncode == status
    assert words in one_line_error(proc)
    assert len(frugal.load(db)) == 0


def test_a_command_killed_by_a_signal_is_recorded_as_such(tmp_path):
    """SIGKILL: exit status 128 + 9 and a stored run with status interrupted, error SIGKILL."""
    db = tmp_path / "f.db"
    proc = frugal_cmd("run", "--store", str(db), "--", "sh", "-c", "kill -KILL $$")
    assert proc.returncode == 128 + signal.SIGKILL
    row = frugal.load(db).iloc[0]
    assert (row["status"], row["error"]) == ("interrupted", "SIGKILL")


def test_ctrl_c_reaches_the_command_and_is_recorded(tmp_path):
    """Ctrl-C (SIGINT to the process group) ends the command; frugal records it and exits 130."""
    db = tmp_path / "f.db"
    proc = subprocess.Popen([*FRUGAL, "run", "--store", str(db), "--", "sleep", "60"],
                            start_new_session=True, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _has_sleep_descendant(proc.pid):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT, err
    row = frugal.load(db).iloc[0]
    assert (row["status"], row["error"]) == ("interrupted", "SIGINT")


def _has_sleep_descendant(pgid: int) -> bool:
    """Whether `sleep 60` runs in the process group ``pgid`` (the command has started)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_bytes() == b"sleep\x0060\x00" and os.getpgid(int(entry.name)) == pgid:
                return True
        except (OSError, ProcessLookupError):
            continue
    return False


def test_a_foreign_store_is_refused_before_the_command_runs(tmp_path):
    """--store pointing at a file that is not a store: one line, exit 1, command never run."""
    target = tmp_path / "notes.txt"
    target.write_text("my notes\n")
    marker = tmp_path / "ran"
    proc = frugal_cmd("run", "--store", str(target), "--", "touch", str(marker))
    assert proc.returncode == 1
    assert "not a SQLite database" in one_line_error(proc)
    assert not marker.exists()
    assert target.read_text() == "my notes\n"


def test_frugal_store_variable_is_the_default_store(tmp_path):
    """Without --store, runs go to $FRUGAL_STORE."""
    db = tmp_path / "env.db"
    proc = frugal_cmd("run", "--", "true", env={**os.environ, "FRUGAL_STORE": str(db)})
    assert proc.returncode == 0, proc.stderr
    assert frugal.load(db)["name"].tolist() == ["true"]


# --- frugal compare ----------------------------------------------------------------------------

@pytest.mark.slow
def test_compare_interleaves_runs_and_exports_every_format(tmp_path):
    """compare gives summary, ratios and verdicts, in JSON, CSV and Markdown, and stores the runs."""
    db = tmp_path / "f.db"
    out = {k: tmp_path / f"c.{k}" for k in ("json", "csv", "md")}
    proc = frugal_cmd("compare", "true", ALLOC_60MB, "--runs", "5", "--warmup", "1", "--seed", "7",
                      "-n", "tiny", "-n", "big", "--store", str(db),
                      "--export-json", str(out["json"]), "--export-csv", str(out["csv"]),
                      "--export-markdown", str(out["md"]))
    assert proc.returncode == 0, proc.stderr
    assert "big uses" in proc.stdout and label_of(MEMORY) in proc.stdout
    data = json.loads(out["json"].read_text())
    assert data["baseline"] == "tiny" and len(data["runs"]) == 10
    assert sorted(r["order"] for r in data["runs"]) == list(range(10))
    sequence = [r["variant"] for r in sorted(data["runs"], key=lambda r: r["order"])]
    assert sequence != sorted(sequence) and sequence != sorted(sequence, reverse=True)
    memory = next(r for r in data["ratios"] if r["metric"] == MEMORY)
    assert memory["ratio"] > 5 and memory["verdict"].startswith("big uses")
    rows = list(csv.DictReader(out["csv"].open()))
    assert {r["variant"] for r in rows} == {"tiny", "big"} and "ci_low" in rows[0]
    md = out["md"].read_text()
    assert md.startswith("| Command |") and "(baseline)" in md
    stored = frugal.load(db)
    assert stored.groupby("name").size().to_dict() == {"big": 5, "tiny": 5}


@pytest.mark.slow
def test_compare_names_a_failed_command_with_its_exit_status_and_stderr(tmp_path):
    """A command that always fails is listed as failed with its exit status and the end of its
    stderr, in the table, the verdicts and the JSON; it is not compared; the exit status is 1."""
    failing = "sh -c 'echo starting >&2; echo disk is full >&2; exit 3'"
    out = tmp_path / "c.json"
    proc = frugal_cmd("compare", "true", failing, "--runs", "5", "--no-store", "-n", "ok", "-n", "bad",
                      "--export-json", str(out))
    assert proc.returncode == 1
    row = next(line for line in proc.stdout.splitlines() if line.startswith("bad "))
    assert "failed (5)" in row
    assert "- 5 of 5 runs of bad failed (exit status 3: starting / disk is full x5): it is not compared, " \
           "ranked or graded" in proc.stdout
    assert proc.stderr.splitlines()[-1] == ("frugal compare: 5 of 5 runs of 'bad' failed (exit status 3: starting / "
                                            "disk is full x5): it is not compared, ranked or graded")
    data = json.loads(out.read_text())
    assert data["failures"] == {"bad": {"status": "failed", "failed_runs": 5, "runs": 5,
                                        "errors": ["exit status 3: starting / disk is full x5"]}}
    assert {r["error"] for r in data["runs"] if r["variant"] == "bad"} == {"exit status 3: starting / disk is full"}
    assert {r["outcome"] for r in data["ratios"]} == {"failed"}
    assert all(r["ratio"] is None for r in data["ratios"])


@pytest.mark.slow
def test_compare_json_on_stdout(tmp_path):
    """--json prints the comparison as JSON and nothing else on stdout."""
    proc = frugal_cmd("compare", "true", "sh -c true", "--runs", "3", "--no-store", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {r["metric"] for r in data["ratios"]} >= {"wall_s", "cpu_s", MEMORY}
    assert data["store"] is None


@pytest.mark.parametrize("args, words", [
    (["compare", "true"], "at least two commands"),
    (["compare", "true", "no-such-command-frugal"], "command not found"),
    (["compare", "true", "false", "--baseline", "other"], "--baseline"),
    (["compare", "true", "true"], "same name"),
    (["compare", "true", "false", "--runs", "0"], "--runs"),
    (["compare", "true", "'unclosed"], "cannot split"),
    (["run", "--repeat", "zero", "--", "true"], "--repeat"),
    (["run"], "no command"),
    (["dashboard", "/nonexistent/f.db"], "does not exist"),
    (["nonsense"], "invalid choice"),
])
@pytest.mark.slow
def test_user_errors_are_one_line_and_a_nonzero_exit(tmp_path, args, words):
    """Mistakes give one line on stderr naming the problem, a non-zero exit, no traceback."""
    proc = frugal_cmd(*args, cwd=tmp_path)
    assert proc.returncode != 0
    assert words in one_line_error(proc)
    assert not (tmp_path / "frugal.db").exists()


@pytest.mark.parametrize("command", [[], ["run"], ["compare"], ["dashboard"], ["info"], ["demo"]])
@pytest.mark.slow
def test_every_command_has_help(command):
    """--help works on the program and on every command."""
    proc = frugal_cmd(*command, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: frugal")


def test_version_and_console_script():
    """--version names frugal's version, through python -m frugal and the console script."""
    proc = frugal_cmd("--version")
    assert proc.stdout.strip() == f"frugal {frugal.__version__}"
    script = Path(PY).with_name("frugal")
    if script.exists():
        assert subprocess.run([str(script), "--version"], capture_output=True, text=True).stdout == proc.stdout


# --- dashboard, info, demo ---------------------------------------------------------------------

@pytest.mark.slow
def test_dashboard_command_writes_the_page_of_a_store(tmp_path):
    """frugal dashboard STORE -o FILE writes one HTML file with the stored names."""
    db = tmp_path / "f.db"
    for name in ("first", "second"):
        assert frugal_cmd("run", "--store", str(db), "--name", name, "--repeat", "2", "--", "true").returncode == 0
    page = tmp_path / "out" / "d.html"
    proc = frugal_cmd("dashboard", str(db), "-o", str(page), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"dashboard": str(page), "store": str(db), "measurements": 4}
    text = page.read_text()
    assert "second" in text and "<svg" in text and "Methodology and provenance" in text


def test_info_reports_meters_model_and_sources():
    """frugal info lists the environment in sections; --json gives the same as a dict."""
    proc = frugal_cmd("info")
    assert proc.returncode == 0, proc.stderr
    for section in ("Hardware", "Meters", "Energy model", "Grid carbon intensity", "Data sources"):
        assert f"\n{section}\n" in f"\n{proc.stdout}"
    data = json.loads(frugal_cmd("info", "--json").stdout)
    assert data["intensity_g_per_kwh"] > 0 and data["intensity_source"]
    assert data["frugal_version"] == frugal.__version__
    # the gpu setting is not a GPU found: no bare "gpu: True" on a machine without a driver
    assert "\n  gpu: NVIDIA GPUs are read where a driver is present (setting gpu=True)\n" in proc.stdout
    assert data["gpu"] is True


def test_info_with_a_bad_setting_is_one_line_and_a_nonzero_exit():
    """An invalid FRUGAL_* variable makes frugal info fail in one line that names it."""
    proc = frugal_cmd("info", env={**os.environ, "FRUGAL_PUE": "-1"})
    assert proc.returncode != 0
    assert "FRUGAL_PUE" in one_line_error(proc)


@pytest.mark.slow
def test_demo_as_the_readme_runs_it(tmp_path):
    """`frugal demo` compares three sorts, stores them in ./frugal-demo/frugal.db and writes the dashboard."""
    script = Path(PY).with_name("frugal")
    command = [str(script), "demo"] if script.exists() else [*FRUGAL, "demo"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    db, page = tmp_path / "frugal-demo" / "frugal.db", tmp_path / "frugal-demo" / "dashboard.html"
    assert str(Path("frugal-demo") / "frugal.db") in proc.stdout
    assert str(Path("frugal-demo") / "dashboard.html") in proc.stdout
    stored = frugal.load(db)
    assert stored.groupby("name").size().to_dict() == {"heapq": 20, "insertion_sort": 20, "sorted": 20}
    assert (stored["units"] == 300).all()
    text = page.read_text()
    assert "insertion_sort" in text and "<svg" in text
    assert "insertion_sort uses" in proc.stdout


@pytest.mark.slow
def test_demo_again_appends_and_shows_a_trend(tmp_path):
    """A second demo run appends to the same store; the dashboard then has a trend section."""
    for _ in range(2):
        proc = frugal_cmd("demo", "--out", str(tmp_path), "--repeat", "4", "--size", "50")
        assert proc.returncode == 0, proc.stderr
    assert frugal.load(tmp_path / "frugal.db")["run_id"].nunique() == 2
    assert "<h2>Trends</h2>" in (tmp_path / "dashboard.html").read_text()


@pytest.mark.slow
def test_demo_json_prints_the_paths_and_the_comparison(tmp_path):
    """`frugal demo --json` prints JSON (paths, summary, ratios and verdicts), not a crash on the Comparison."""
    proc = frugal_cmd("demo", "--out", str(tmp_path), "--repeat", "5", "--size", "40", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["store"] == str(tmp_path / "frugal.db") and data["dashboard"] == str(tmp_path / "dashboard.html")
    assert {r["variant"] for r in data["summary"]} == {"sorted", "heapq", "insertion_sort"}
    assert {r["variant"] for r in data["ratios"]} == {"heapq", "insertion_sort"}
    assert all("insertion_sort" in r["verdict"] for r in data["ratios"] if r["variant"] == "insertion_sort")
    assert data["baseline"] == "sorted"


# --- helpers -------------------------------------------------------------------------------



def test_shell_is_present_for_exact_child_memory():
    """The launcher that keeps frugal's memory out of the command's peak needs /bin/sh."""
    assert shutil.which("sh") and os.access("/bin/sh", os.X_OK)


@pytest.mark.slow
def test_compare_exits_1_when_a_run_fails(tmp_path):
    """A command that fails is reported, left out of the statistics, and makes compare exit 1."""
    proc = frugal_cmd("compare", "true", "false", "--runs", "3", "--no-store", "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert any("3 of 3 runs of 'false' failed" in w for w in data["warnings"])
    assert "failed" in proc.stderr


COUNT = ("import sys\n"
         "n = len(sys.stdin.buffer.read())\n"
         "open(r'{out}', 'a').write(f'{{n}}\\n')\n")


def test_no_run_reads_what_another_consumed_and_input_gives_each_the_whole_file(tmp_path: Path) -> None:
    """frugal's own standard input goes to no run (the warm-up used to read it all, and every
    measured run nothing); ``--input FILE`` gives every run the whole file."""
    data = tmp_path / "big.txt"
    data.write_bytes(b"x" * 100_000)
    counts = tmp_path / "counts.txt"
    script = tmp_path / "count.py"
    script.write_text(COUNT.format(out=counts))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    base = [sys.executable, "-m", "frugal", "compare", "--runs", "5", "--warmup", "1", "--no-store",
            f"{sys.executable} {script}", f"{sys.executable} -S {script}"]
    with data.open("rb") as stdin:
        subprocess.run(base, stdin=stdin, env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    assert counts.read_text().split() == ["0"] * 12
    counts.unlink()
    subprocess.run([*base, "--input", "big.txt"], stdin=subprocess.DEVNULL, env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    assert counts.read_text().split() == ["100000"] * 12
    bad = subprocess.run([*base, "--input", "missing.txt"], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "--input" in bad.stderr and "missing.txt" in bad.stderr


def test_ctrl_c_during_compare_keeps_shows_and_stores_the_finished_runs(tmp_path):
    """Ctrl-C after some runs of ``frugal compare``: the finished runs are printed as the usual
    table and stored, the interrupted one is not, and frugal exits 130 saying how many it kept."""
    db = tmp_path / "f.db"
    proc = subprocess.Popen([*FRUGAL, "compare", "--runs", "100", "--warmup", "0", "--store", str(db),
                             "sleep 0.05", "sleep 0.06"],
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, seen = time.monotonic() + 60, set()
        while time.monotonic() < deadline and len(seen) < 12:     # some runs started (seen at 50 ms a look)
            seen |= _sleeps_of(proc.pid)
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGINT, err
    kept = frugal.load(db)
    assert 4 <= len(kept) < 200 and (kept["status"] == "ok").all()
    assert f"interrupted after {len(kept)} of 200 measured runs; those are shown and stored" in err
    assert "sleep 0.05 (baseline)" in out


@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_a_compare_exits_130_and_stores_what_it_says():
    """Ctrl-C to the process group at 15 seeded moments of a compare of short commands, some
    while a command starts (the launcher dies with it): always exit 130, never a launch
    failure; the runs said kept are those stored; a command that finished no run is named,
    not compared (a missing baseline made it exit 2)."""
    rng = random.Random(130)
    for attempt in range(15):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "f.db"
            proc = subprocess.Popen([*FRUGAL, "compare", "--runs", "100", "--warmup", "0", "--store", str(db),
                                     "sleep 0.02", "sleep 0.03"],
                                    start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not _sleeps_of(proc.pid):     # frugal runs commands now
                    time.sleep(0.005)
                time.sleep(rng.uniform(0, 0.6))
                os.killpg(proc.pid, signal.SIGINT)
                out, err = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
            assert proc.returncode == 128 + signal.SIGINT, (attempt, err)
            said = re.search(r"interrupted after (\d+) of 200 measured runs", err)
            assert said is not None, (attempt, err)
            stored = len(frugal.load(db)) if db.exists() and int(said[1]) else 0
            assert stored == int(said[1]), (attempt, err)


def _sleeps_of(pgid: int) -> set[str]:
    """The pids of the `sleep` commands alive in the process group ``pgid``."""
    return {e.name for e in Path("/proc").iterdir() if e.name.isdigit() and _is_sleep_of(e, pgid)}


def _is_sleep_of(entry: Path, pgid: int) -> bool:
    try:
        stat = (entry / "stat").read_text()
        return stat.split(") ")[1].split()[2] == str(pgid) and (entry / "comm").read_text().strip() == "sleep"
    except (OSError, IndexError):
        return False


def test_dashboard_of_a_missing_or_an_empty_store_is_a_usage_error(tmp_path, capsys):
    """Both are the user's to fix: exit 2, as for any usage error (a missing store gave 1)."""
    from frugal.store.sqlite import Store

    empty = Store(tmp_path / "empty.db").open().path
    zero = tmp_path / "zero.db"
    zero.touch()        # configure(store=) starts a store in it: the dashboard says it is empty, not foreign
    for store, words in ((tmp_path / "missing.db", "the file does not exist"), (empty, "holds no measurements"),
                         (zero, "holds no measurements (an empty file)")):
        assert cli.main(["dashboard", str(store), "-o", str(tmp_path / "d.html")]) == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists() and not (tmp_path / "d.html").exists()
