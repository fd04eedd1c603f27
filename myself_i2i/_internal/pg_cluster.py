"""A throw-away PostgreSQL server in a temporary directory, for tests and benchmarks.

No stability promise. Finds the server binaries (``pg_config --bindir``, then
``/usr/lib/postgresql/*/bin``), runs ``initdb`` and ``pg_ctl`` as an unprivileged user
(``postgres`` when we are root, since the server refuses to run as root) and listens on
127.0.0.1 at a free port and on a unix socket in the same directory.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (the message says why)."""


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``.

    Raises:
        PostgresUnavailable: none found.
    """
    pg_config = shutil.which("pg_config")
    cands: list[str] = []
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        cands.append(out.stdout.strip())
    cands += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in cands:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found (no initdb/pg_ctl in pg_config --bindir or "
        "/usr/lib/postgresql/*/bin); install them with `apt-get install -y postgresql`"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user(cmd: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(cmd)
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root without runuser to drop to 'postgres'")
    return [runuser, "-u", "postgres", "--", *cmd]


@contextmanager
def temporary_postgres(
    settings: dict[str, str] | None = None, *, keep_dir: Path | None = None
) -> Iterator[str]:
    """Start a server; yields a base URL ``postgresql://postgres@127.0.0.1:PORT``.

    ``settings`` are extra server settings (``-c name=value``). The data directory is
    removed afterwards.

    Raises:
        PostgresUnavailable: no binaries, no unprivileged user, or the server did not start.
    """
    bindir = find_bindir()
    base = Path(tempfile.mkdtemp(prefix="myself-i2i-pg-", dir=keep_dir))
    data = base / "data"
    try:
        if os.geteuid() == 0:
            try:
                import pwd

                pw = pwd.getpwnam("postgres")
            except KeyError as e:
                raise PostgresUnavailable("running as root and there is no 'postgres' user") from e
            os.chown(base, pw.pw_uid, pw.pw_gid)
        r = subprocess.run(
            _as_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {r.stderr.strip()[-300:]}")
        port = _free_port()
        opts = [f"-p {port}", f"-k {base}", "-c listen_addresses=127.0.0.1"]
        opts += [f"-c {k}={v}" for k, v in (settings or {}).items()]
        r = subprocess.run(
            _as_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    " ".join(opts),
                    "-l",
                    str(base / "log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            log = (
                (base / "log").read_text(errors="replace")[-500:] if (base / "log").exists() else ""
            )
            raise PostgresUnavailable(f"pg_ctl start failed: {r.stderr.strip()} {log}")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}"
        finally:
            subprocess.run(
                _as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                check=False,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


def create_database(base_url: str, name: str) -> str:
    """Create database ``name`` on the server at ``base_url``; returns its URL."""
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"
