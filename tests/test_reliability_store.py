"""Store faults: a full disk, a read-only folder, a locked database, a file cut mid-write.

Each fault gives a clear warning or error, leaves ``frugal.results()`` whole, loses or changes
no record stored before it, and (where the fault can pass) the waiting rows are stored once
it has passed. The disk and the folder are real: a 1 MiB tmpfs and a read-only bind mount,
which need root (the tests skip where mounting is refused).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import frugal
from frugal import store
from frugal.store import default
from frugal.store import sqlite as sqlite_store
from frugal.errors import FrugalError
from frugal.measurement import FIELDS


@pytest.fixture
def quiet_writer():
    """Sets a store as the default with its background thread stopped: only explicit flushes write."""
    frugal.clear()

    def use(path: Path) -> Path:
        store.set_default_store(path)
        default._writer.stop()
        return path

    yield use
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # a store left broken by a test warns as it is dropped
        store.set_default_store(None)
        frugal.clear()


def _mount(*args: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a file system needs root and mount(8)")
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"mounting is refused here: {proc.stderr.strip()}")


def _umount(target: Path) -> None:
    if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB file system (tmpfs), unmounted after the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount("-t", "tmpfs", "-o", "size=1m", "frugal-test", str(disk))
    yield disk
    _umount(disk)


@contextlib.contextmanager
def read_only(folder: Path):
    """The folder made read-only for everyone, root included (a read-only bind mount over itself)."""
    _mount("--bind", str(folder), str(folder))
    try:
        _mount("-o", "remount,bind,ro", str(folder))
        yield folder
    finally:
        _umount(folder)


def stored(path: Path):
    """The store's measurements, without the run metadata, in stored order."""
    return frugal.load(path)[list(FIELDS)].reset_index(drop=True)


def measure(name: str, n: int) -> None:
    for i in range(n):
        with frugal.measure(name, units=i):
            pass


def flush_warns(match: str) -> int:
    with pytest.warns(RuntimeWarning, match=match):
        return frugal.flush()


def counts(frame) -> dict[str, int]:
    return frame.groupby("name")["calls"].sum().to_dict()


def test_a_full_disk_warns_keeps_results_and_stores_them_once_space_is_back(small_disk, quiet_writer):
    """On a full disk a flush warns; results and earlier rows stay; the rows are stored once space is back."""
    path = quiet_writer(small_disk / "frugal.db")
    measure("before", 50)
    assert frugal.flush() == 50
    before = stored(path)
    filler = small_disk / "filler"
    with pytest.raises(OSError) as full, open(filler, "wb", buffering=0) as f:
        while True:
            f.write(b"\0" * 65536)
    assert full.value.errno == 28            # ENOSPC: the disk is really full
    measure("during", 400)
    assert flush_warns(r"could not store measurements .*(full|disk)") == 0
    assert counts(frugal.results()) == {"before": 50, "during": 400}
    assert stored(path).equals(before)
    filler.unlink()
    assert frugal.flush() == 400
    after = stored(path)
    assert after.iloc[:50].equals(before)
    assert counts(after) == counts(frugal.results()) == {"before": 50, "during": 400}
    # full again after the recovery: said again, not silently
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
    measure("again", 400)
    assert flush_warns("could not store measurements") == 0
    assert counts(stored(path)) == {"before": 50, "during": 400}


def test_a_read_only_folder_refuses_clearly_and_loses_nothing(tmp_path, quiet_writer):
    """A store whose folder turns read-only warns on flush, is still readable, and catches up later."""
    folder = tmp_path / "runs"
    folder.mkdir()
    path = quiet_writer(folder / "frugal.db")
    measure("before", 30)
    assert frugal.flush() == 30
    before = stored(path)
    with read_only(folder):
        measure("during", 20)
        assert flush_warns("could not store measurements .*readonly") == 0
        assert counts(frugal.results()) == {"before": 30, "during": 20}
        assert stored(path).equals(before)                # reading still works
        with pytest.raises(FrugalError, match="cannot open the frugal store"):
            frugal.configure(store=folder / "new.db")   # a new store there: refused at once
        assert frugal.configure().store is None
        assert not (folder / "new.db").exists()
    assert frugal.flush() == 20
    assert stored(path).iloc[:30].equals(before)
    assert counts(stored(path)) == {"before": 30, "during": 20}


def test_a_store_on_read_only_media_is_read(tmp_path):
    """A store copied to a read-only folder, with no -shm file beside it, loads in full."""
    frugal.clear()
    source = tmp_path / "source.db"
    store.set_default_store(source)
    try:
        measure("archived", 25)
        frugal.flush()
    finally:
        store.set_default_store(None)
        frugal.clear()
    archive = tmp_path / "archive"
    archive.mkdir()
    with contextlib.closing(sqlite3.connect(source)) as src, \
            contextlib.closing(sqlite3.connect(archive / "frugal.db")) as dst:
        src.backup(dst)                          # one self-contained file, as an archive holds it
    expected = stored(source)
    assert sorted(os.listdir(archive)) == ["frugal.db"]
    with read_only(archive):
        assert stored(archive / "frugal.db").equals(expected)
        assert len(store.load_runs(archive / "frugal.db")) == 1
        assert sorted(os.listdir(archive)) == ["frugal.db"]


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


def test_a_database_locked_by_another_process_waits_warns_and_catches_up(tmp_path, quiet_writer, monkeypatch):
    """While another process holds an exclusive lock, a flush warns; reading works; rows follow later."""
    # how long a writer waits for the lock: set where it is read (frugal.store re-exports a copy)
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_S", 0.3)
    path = quiet_writer(tmp_path / "frugal.db")
    measure("before", 40)
    assert frugal.flush() == 40
    before = stored(path)
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        measure("during", 10)
        assert flush_warns("could not store measurements .*locked") == 0
        assert counts(frugal.results()) == {"before": 40, "during": 10}
        assert stored(path).equals(before)        # WAL: readers are not blocked by the writer
    finally:
        locker.communicate("\n", timeout=30)
    assert locker.returncode == 0
    assert frugal.flush() == 10
    assert stored(path).iloc[:40].equals(before)
    assert counts(stored(path)) == {"before": 40, "during": 10}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1])
def test_a_truncated_store_is_refused_and_left_as_it_is(tmp_path, keep):
    """A store cut short is a clear FrugalError to read and to write, and frugal never touches it."""
    frugal.clear()
    full = tmp_path / "full.db"
    store.set_default_store(full)
    try:
        measure("stored", 2000)
        frugal.flush()
    finally:
        store.set_default_store(None)
        frugal.clear()
    cut = tmp_path / "cut.db"
    with contextlib.closing(sqlite3.connect(full)) as src, contextlib.closing(sqlite3.connect(cut)) as dst:
        src.backup(dst)
    with open(cut, "r+b") as f:
        f.truncate(int(os.path.getsize(cut) * keep))
    digest = _sha(cut)
    with pytest.raises(FrugalError, match="corrupt or unreadable"):
        frugal.load(cut)
    with pytest.raises(FrugalError, match="unusable .*left untouched"):
        frugal.configure(store=cut)
    with frugal.measure("still_measured"):
        pass
    assert frugal.configure().store is None
    assert frugal.results()["name"].tolist() == ["still_measured"]
    assert _sha(cut) == digest
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("cut")) == ["cut.db"]
    frugal.clear()


def test_a_write_torn_by_a_crash_loses_only_the_transaction_being_written(tmp_path, quiet_writer):
    """A write-ahead log cut inside its last transaction keeps every earlier transaction, and stays writable."""
    path = quiet_writer(tmp_path / "frugal.db")
    keeper = sqlite3.connect(path)          # an open reader: the log is not folded into the file
    keeper.execute("SELECT count(*) FROM meta").fetchone()
    try:
        measure("first", 200)
        assert frugal.flush() == 200
        first = stored(path)
        measure("second", 200)
        assert frugal.flush() == 200
        crashed = tmp_path / "crashed"
        crashed.mkdir()
        shutil.copy(path, crashed / "frugal.db")
        shutil.copy(f"{path}-wal", crashed / "frugal.db-wal")
    finally:
        keeper.close()
    wal = crashed / "frugal.db-wal"
    assert wal.stat().st_size > 32 + 2 * (24 + 4096)     # header and frames of both transactions
    with open(wal, "r+b") as f:
        f.truncate(wal.stat().st_size - 1000)            # the crash cut the last frame in half
    assert stored(crashed / "frugal.db").equals(first)
    store.Store(crashed / "frugal.db").append(store.new_run(), _one_row())
    assert counts(stored(crashed / "frugal.db")) == {"first": 200, "later": 1}


def _one_row() -> dict:
    from frugal.frames.columns import log_columns

    frugal.clear()
    with frugal.measure("later"):
        pass
    cols = log_columns()
    frugal.clear()
    return cols


def test_every_row_is_stored_under_warnings_as_errors(tmp_path: Path) -> None:
    """``-W error`` (or pytest's ``filterwarnings = error``) turns a library's deprecation into an
    exception: none may come from frugal's own writing, or the rows would be lost. (numpy 2.5
    deprecates a datetime64 without a unit, which the store's chunk decoding once built.)"""
    path = tmp_path / "s.db"
    code = ("import frugal\n"
            "for i in range(100):\n"
            "    with frugal.measure('f'):\n"
            "        pass\n"
            "frugal.flush()\n"
            "print(len(frugal.load(r'%s')))\n" % path)
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True,
                         env={**os.environ, "FRUGAL_STORE": str(path)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "100", out.stdout + out.stderr
