"""A throw-away PostgreSQL server for the tests and benchmarks/scale.py: initdb in a temporary
folder, listening on loopback (a free port) and a Unix socket in that folder, nothing else.

PostgreSQL refuses to run as root: as root, every server command runs as the unprivileged
``postgres`` user (``runuser``), which owns the folder. ``start()`` raises ``Unavailable``
(with the reason, for a skip) when the binaries are absent or no unprivileged user can run them.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ADMIN_PASSWORD = "pg-admin-S3cret"


class Unavailable(Exception):
    """No server can be started here; the message says why."""


def _bin() -> Path:
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent      # Debian links a few of them from /usr/local/bin
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise Unavailable("PostgreSQL's initdb/pg_ctl are not installed (Debian: apt-get install postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    root: Path
    port: int
    bindir: Path
    user: str | None      # run server commands as this user (root only), else as ourselves

    def cmd(self, *args: str) -> list[str]:
        return (["runuser", "-u", self.user, "--"] if self.user else []) + list(args)

    def psql(self, sql: str, db: str = "postgres", check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``sql`` as the superuser over the Unix socket."""
        return subprocess.run(self.cmd(str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                                       str(self.root), "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql),
                              capture_output=True, text=True, check=check, timeout=60)

    def url(self, user: str, password: str | None, db: str, **params: str) -> str:
        auth = user + (f":{password}" if password is not None else "")
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}" + (f"?{query}" if query else "")

    def pg_ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(self.cmd(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-w", *args),
                       capture_output=True, check=True, timeout=timeout)

    def start(self) -> None:
        self.pg_ctl("-l", str(self.root / "log"), "-o",
                    f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")


def start() -> Server:
    """A running server whose superuser ``postgres`` has ``ADMIN_PASSWORD``."""
    bindir = _bin()
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable("running as root and there is no 'postgres' user to run the server as") from None
        if not shutil.which("runuser"):
            raise Unavailable("running as root and runuser is missing: cannot run the server as 'postgres'")
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="frugal-pg-"))
    os.chmod(root, 0o755)
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = Server(root, _free_port(), bindir, user)
    pwfile = root / "pw"
    pwfile.write_text(ADMIN_PASSWORD + "\n")
    if user:
        os.chown(pwfile, pwd.getpwnam(user).pw_uid, -1)
    try:
        subprocess.run(server.cmd(str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres",
                                  "--pwfile", str(pwfile), "--auth-local=trust", "--auth-host=scram-sha-256",
                                  "-E", "UTF8", "--no-sync"),
                       capture_output=True, check=True, timeout=120)
        server.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise Unavailable(f"could not start PostgreSQL: {exc} {getattr(exc, 'stderr', '')!r} {log[-500:]}") from None
    return server


def destroy(server: Server) -> None:
    try:
        server.pg_ctl("-m", "immediate", "stop")
    except subprocess.CalledProcessError:
        pass        # already stopped
    for _ in range(50):
        if not (server.root / "data" / "postmaster.pid").exists():
            break
        time.sleep(0.1)
    shutil.rmtree(server.root, ignore_errors=True)
