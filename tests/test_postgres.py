"""The store on a real PostgreSQL server (``store="postgresql://..."``): started once for this
file (``tests/pgserver.py``: initdb in a temporary folder, loopback only), each test in its
own schema of one database. Skipped, with the reason, where the server cannot be started.

Also, without a server: no URL is ever taken for a file path, and a scheme frugal does not
support is a clear error.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import pgserver  # noqa: E402

sys.path.pop(0)

PASSWORD = "Pg-S3cret-4711"       # searched for in every output: it must appear in none


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("psycopg", reason="the extra frugal[postgres] (in the test extra) is not installed")
    try:
        srv = pgserver.start()
    except pgserver.Unavailable as exc:
        pytest.skip(str(exc))
    try:
        srv.psql(f"CREATE ROLE frugal LOGIN PASSWORD '{PASSWORD}'")
        srv.psql("CREATE DATABASE team OWNER frugal")
        yield srv
    finally:
        pgserver.destroy(srv)


@pytest.fixture
def url(server):
    """A store URL of its own: the team database, a schema no other test uses."""
    return server.url("frugal", PASSWORD, "team", schema=f"t_{uuid.uuid4().hex[:12]}")


def _python(code: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)


def _frugal(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "frugal", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=180)


def _write(url: str, n: int, name: str = "work") -> None:
    out = _python(f"""
        import frugal
        frugal.configure(store={url!r})
        for _ in range({n}):
            with frugal.measure({name!r}):
                pass
        """)
    assert out.returncode == 0, out.stderr
    assert "could not" not in out.stderr, out.stderr


# --- without a server ------------------------------------------------------------------------

def test_a_store_url_is_never_taken_for_a_file_path(tmp_path):
    """Before, store="postgresql://u:PW@host/db" made the folders postgresql:/u:PW@host/ with a
    SQLite file inside: the password written into the file system. Now the server is tried
    (unreachable here: one warning, password redacted), rows stay in results(), no file is made."""
    out = _python(f"""
        import frugal
        frugal.configure(store="postgresql://u:{PASSWORD}@127.0.0.1:1/db")
        with frugal.measure("a"):
            pass
        print(len(frugal.results()), frugal.environment().to_dict()["store"])
        """, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == [], "a URL was taken for a file path"
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "postgresql://u:***@127.0.0.1:1/db"]
    assert PASSWORD not in out.stdout + out.stderr
    assert out.stderr.count("could not write to the store yet") == 1, out.stderr


@pytest.mark.parametrize("url", ["mysql://u:PW-x@db/x", "http://example.org/store", "sqlite://x.db"])
def test_a_scheme_frugal_does_not_support_is_a_clear_error(tmp_path, url):
    import frugal
    from frugal.store.read import load

    with pytest.raises(ValueError, match=r"store=.*scheme .*:// is not a store frugal can use") as info:
        frugal.configure(store=url)
    assert "PW-x" not in str(info.value)
    with pytest.raises(ValueError, match="path=.* is not a store frugal can use"):
        load(url)
    for args in (["dashboard", url], ["merge", url, str(tmp_path / "x.db")], ["merge", str(tmp_path / "x.db"), url]):
        cli = _frugal(*args, cwd=tmp_path)
        assert cli.returncode == 2 and "is not a store frugal can use" in cli.stderr, cli.stderr
        assert "PW-x" not in cli.stdout + cli.stderr
    env = _frugal("info", env={"FRUGAL_STORE": url}, cwd=tmp_path)
    assert "FRUGAL_STORE=" in env.stderr and "is not a store frugal can use" in env.stderr, env.stderr
    assert "PW-x" not in env.stdout + env.stderr
    assert list(tmp_path.iterdir()) == []


# --- on a server -----------------------------------------------------------------------------

def test_rows_round_trip_through_every_reader(url, tmp_path):
    from frugal.store import load_runs
    from frugal.store.read import load

    _write(url, 1000, "a")
    _write(url, 500, "b")
    frame = load(url)
    assert len(frame) == 1500 and frame["name"].value_counts().to_dict() == {"a": 1000, "b": 500}
    assert len(load(url, name="b")) == 500 and frame["run_id"].nunique() == 2
    runs = load_runs(url)
    assert runs["measurements"].tolist() == [1000, 500] and runs["rows_dropped"].tolist() == [0, 0]
    import frugal

    assert list(frugal.regressions(url).columns)[:2] == ["name", "metric"]     # read through the history
    # both directions of merge: PostgreSQL -> a SQLite file -> another schema
    laptop = tmp_path / "laptop.db"
    out = _frugal("merge", "--json", str(laptop), url)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["measurements_added"] == 1500
    other = url.rsplit("schema=", 1)[0] + f"schema=m_{uuid.uuid4().hex[:8]}"
    out = _frugal("merge", other, str(laptop))
    assert out.returncode == 0 and "2 runs added" in out.stdout, out.stdout + out.stderr
    assert len(load(other)) == 1500 and len(load(laptop)) == 1500
    assert _frugal("merge", "--json", other, str(laptop)).stdout.count('"runs_present": 2') == 2


def test_update_delete_and_truncate_are_refused_by_the_database(url, server):
    import psycopg

    _write(url, 10)
    schema = url.rsplit("schema=", 1)[1]
    with psycopg.connect(server.url("frugal", PASSWORD, "team"), autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        for sql in ("UPDATE chunks SET rows = 0", "DELETE FROM chunks", "UPDATE runs SET host = 'x'",
                    "DELETE FROM runs", "DELETE FROM chunk_names", "UPDATE meta SET value = '9'",
                    "TRUNCATE chunks CASCADE"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(sql)
        assert conn.execute("SELECT sum(rows) FROM chunks").fetchone()[0] == 10


def test_a_newer_schema_or_foreign_tables_are_refused(server):
    import frugal
    from frugal.errors import FrugalError

    schema = f"n_{uuid.uuid4().hex[:8]}"
    server.psql(f"CREATE SCHEMA {schema} AUTHORIZATION frugal; CREATE TABLE {schema}.meta (key text, value text); "
                f"CREATE TABLE {schema}.runs (id int); CREATE TABLE {schema}.chunks (id int); "
                f"INSERT INTO {schema}.meta VALUES ('application', 'frugal'), ('schema_version', '99'); "
                f"ALTER TABLE {schema}.meta OWNER TO frugal", db="team")
    with pytest.raises(FrugalError, match="newer frugal"):
        frugal.configure(store=server.url("frugal", PASSWORD, "team", schema=schema))
    server.psql(f"CREATE SCHEMA f_{schema}; CREATE TABLE f_{schema}.runs (id int); GRANT USAGE ON SCHEMA "
                f"f_{schema} TO frugal; GRANT SELECT ON ALL TABLES IN SCHEMA f_{schema} TO frugal", db="team")
    with pytest.raises(FrugalError, match="not a frugal store"):
        frugal.configure(store=server.url("frugal", PASSWORD, "team", schema=f"f_{schema}"))
    assert frugal.configure().store is None


def test_a_role_that_may_only_insert_and_select_is_enough_once_the_tables_exist(url, server):
    """The SQL of the README's section, as a DBA runs it."""
    from frugal.store.read import load

    _write(url, 100)        # the owner creates the tables
    schema = url.rsplit("schema=", 1)[1]
    server.psql(f"CREATE ROLE ci_{schema} LOGIN PASSWORD 'ci-pw-{schema}'; "
                f"GRANT CONNECT ON DATABASE team TO ci_{schema}; GRANT USAGE ON SCHEMA {schema} TO ci_{schema}; "
                f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO ci_{schema}", db="team")
    ci = server.url(f"ci_{schema}", f"ci-pw-{schema}", "team", schema=schema)
    _write(ci, 200)
    assert len(load(ci)) == 300


def test_libpq_settings_work_pgpassword_pgpass_and_sslmode(url, server, tmp_path):
    from frugal.store.read import load

    _write(url, 5)
    bare = url.replace(f":{PASSWORD}@", "@")
    assert PASSWORD not in bare
    out = _python(f"import frugal; print(len(frugal.load({bare + '&sslmode=disable'!r})))",
                  env={"PGPASSWORD": PASSWORD})
    assert out.stdout.strip() == "5", out.stderr
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{server.port}:team:frugal:{PASSWORD}\n")
    pgpass.chmod(0o600)
    out = _python(f"import frugal; print(len(frugal.load({bare!r})))", env={"PGPASSFILE": str(pgpass)})
    assert out.stdout.strip() == "5", out.stderr
    assert len(load(url)) == 5


@pytest.mark.slow      # about 25 s: 400,000 measured calls on a shared machine
def test_eight_processes_write_at_once_every_row_read_back_once_and_dashboard_renders(url, tmp_path):
    """8 processes x 50,000 rows on a fresh schema: the first writers create the tables together."""
    from frugal.store.read import load

    code = textwrap.dedent(f"""
        import sys, frugal
        frugal.configure(store={url!r})
        name = "p" + sys.argv[1]
        for _ in range(50_000):
            with frugal.measure(name):
                pass
        """)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(i)], stderr=subprocess.PIPE, text=True)
             for i in range(8)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "could not" not in err, err
    frame = load(url)
    assert len(frame) == 400_000
    assert frame["name"].value_counts().to_dict() == {f"p{i}": 50_000 for i in range(8)}
    assert frame.groupby("run_id").size().tolist() == [50_000] * 8
    page = tmp_path / "dash.html"
    out = _frugal("dashboard", url, "-o", str(page))
    assert out.returncode == 0, out.stderr
    assert "400,000 measurements" in out.stdout and PASSWORD not in out.stdout + out.stderr
    assert "p7" in page.read_text()


def test_server_stopped_for_5_s_mid_run_loses_no_row_and_warns_once(url, server, tmp_path):
    from frugal.store.read import load

    flag = tmp_path / "go"
    code = textwrap.dedent(f"""
        import os, time, frugal
        frugal.configure(store={url!r})
        n = 0
        deadline = None
        while True:
            with frugal.measure("steady"):
                time.sleep(0.001)
            n += 1
            if deadline is None and os.path.exists({str(flag)!r}):
                deadline = time.monotonic() + 3     # the server is back: 3 s more
            if deadline is not None and time.monotonic() > deadline:
                break
        print(n)
        """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        server.stop()
        time.sleep(5)
        server.start()
        flag.write_text("")
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert err.count("could not store measurements") == 1, err
    assert PASSWORD not in err
    assert len(load(url)) == int(out)


def test_the_password_is_in_no_output(url, server, tmp_path):
    """Every output of the commands and APIs that touch a store, searched for the password."""
    wrong = server.url("frugal", PASSWORD + "-nope", "team", schema="x")
    down = f"postgresql://frugal:{PASSWORD}@127.0.0.1:1/team"
    outputs: list[str] = []
    api = _python(f"""
        import warnings, frugal
        from frugal.errors import FrugalError
        warnings.simplefilter("always")
        frugal.configure(store={down!r})            # unreachable: a warning
        with frugal.measure("w"):
            pass
        frugal.flush()
        for u in ({wrong!r}, {down!r}):
            try:
                frugal.load(u)
            except FrugalError as exc:
                print("error:", exc)
        frugal.configure(store={url!r})
        with frugal.measure("w"):
            pass
        frugal.flush()
        print(frugal.environment())
        print(frugal.environment().to_dict())
        print(frugal.configure())
        print(repr(frugal.store.default_store()), frugal.store.default.current_store())
        print(frugal.store.load_runs({url!r}).to_string())
        """)
    assert api.returncode == 0, api.stderr
    assert "error: the frugal store postgresql://frugal:***@" in api.stdout
    assert "could not write to the store yet" in api.stderr
    outputs += [api.stdout, api.stderr]
    env = {"FRUGAL_STORE": url}
    for args in (["info"], ["info", "--json"], ["dashboard", "-o", str(tmp_path / "d.html")],
                 ["dashboard", "--json", url, "-o", str(tmp_path / "e.html")],
                 ["export", url, "-o", str(tmp_path / "x.csv"), "--format", "codecarbon"],
                 ["merge", str(tmp_path / "copy.db"), url], ["merge", "--json", url, str(tmp_path / "copy.db")],
                 ["check", url, "main", "HEAD"], ["dashboard", wrong, "-o", str(tmp_path / "f.html")],
                 ["run", "--store", url, "--", sys.executable, "-c", "pass"]):
        out = _frugal(*args, env=env, cwd=tmp_path)
        outputs += [out.stdout, out.stderr]
    outputs += [p.read_text(errors="replace") for p in tmp_path.iterdir() if p.is_file()]
    from frugal.store import load_runs

    outputs += [s for s in load_runs(url)["settings"].astype(str)]
    assert "postgresql://frugal:***@" in "".join(outputs)
    assert not [o[:300] for o in outputs if PASSWORD in o]


def test_a_hung_server_costs_the_exit_its_budget_and_the_rows_are_said_lost(tmp_path):
    """A server that accepts and never answers: configure() gives up after OPEN_TIMEOUT_S (a
    warning), the last flush at exit after EXIT_TIMEOUT_S (a warning saying the rows are lost)."""
    import socket

    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        out = _python(f"""
            import frugal
            frugal.configure(store="postgresql://u:{PASSWORD}@127.0.0.1:{hung.getsockname()[1]}/db")
            with frugal.measure("a"):
                pass
            """, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "could not write to the store yet" in out.stderr
    assert "did not answer within 1 s); they are lost with this process" in out.stderr, out.stderr
    assert PASSWORD not in out.stderr


class _CutAfterCommit:
    """A TCP proxy on loopback to the server that, when armed, forwards the next COMMIT, lets
    the server commit, and then cuts the connection before its answer comes back: a network
    that fails at the worst moment."""

    def __init__(self, port: int) -> None:
        import socket
        import threading

        self.upstream = port
        self.armed = threading.Event()
        self.muted: set[socket.socket] = set()     # server sides whose answers are dropped
        self.cuts = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src, dst, to_server: bool) -> None:
        import threading

        try:
            while data := src.recv(65536):
                if not to_server and src in self.muted:
                    continue            # the server's answer, dropped
                dst.sendall(data)
                if to_server and b"COMMIT" in data and self.armed.is_set():
                    self.armed.clear()
                    self.muted.add(dst)
                    # the rest of the client's messages (Bind, Execute, Sync) still go through: the
                    # server commits; then the connection is cut, its answer never relayed
                    threading.Timer(0.5, self._cut, (src, dst)).start()
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def _cut(self, *sockets) -> None:
        self.cuts += 1
        for s in sockets:
            try:
                s.shutdown(2)
                s.close()
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


def test_a_commit_whose_answer_is_lost_stores_its_rows_once(url, server, tmp_path):
    """The connection cut after the server committed a write, before its answer: the writer
    asks the server, once it answers again, whether that write is stored, so its rows are
    stored once (before: twice) and the next rows follow; one warning."""
    from frugal.store.read import load

    proxy = _CutAfterCommit(server.port)
    try:
        via = url.replace(f":{server.port}/", f":{proxy.port}/")
        ready, armed = tmp_path / "ready", tmp_path / "armed"
        code = textwrap.dedent(f"""
            import os, time, frugal
            from frugal import store
            frugal.configure(store={via!r})
            def batch(name):
                for _ in range(100):
                    with frugal.measure(name):
                        pass
                store.flush()
            batch("first")
            open({str(ready)!r}, "w").close()
            while not os.path.exists({str(armed)!r}):
                time.sleep(0.01)
            batch("cut")        # committed, its answer lost
            batch("after")      # settles the cut write, then writes its own
            print(len(frugal.results()))
            """)
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not ready.exists() and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.01)
            proxy.armed.set()
            armed.write_text("")
            out, err = child.communicate(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == 0, err
        assert proxy.cuts == 1
        assert err.count("could not store measurements") == 1, err
        stored = load(url)
        assert len(stored) == int(out) == 300, stored["name"].value_counts().to_dict()
        assert stored["name"].value_counts().to_dict() == {"first": 100, "cut": 100, "after": 100}
    finally:
        proxy.close()
