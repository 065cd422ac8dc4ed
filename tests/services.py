"""Throwaway PostgreSQL and Redis servers from Debian's packages, for the tests.

Each server gets its own folder and a free port on 127.0.0.1, and is stopped at the
end: nothing of the machine's own services is used or changed. PostgreSQL refuses to
run as root, so as root it runs as Debian's `postgres` user (the folder is theirs).
`tools/ensure-packages.sh` (run by `make test`) installs the packages when missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from aiohttp import web

from bot.stack import free_port

STARTUP_SECONDS = 60


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run tools/ensure-packages.sh")
    return Path(found[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    """As root, the command runs as `postgres`; otherwise as whoever runs the tests."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


class PostgresServer:
    """A running throwaway cluster; every test asks it for a database of its own."""

    def __init__(self, binaries: Path, port: int) -> None:
        self.binaries = binaries
        self.port = port
        self._created = 0

    def new_database(self, prefix: str = "test") -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        self._created += 1
        name = f"{prefix}_{self._created}"
        subprocess.run(
            [str(self.binaries / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)]
            + ["-U", "postgres", name],
            check=True,
            capture_output=True,
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a PostgreSQL cluster in a temporary folder; stop and delete it after."""
    binaries = _postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="pg-test-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    data = folder / "data"
    port = free_port()
    # fsync off: a test cluster needs no crash safety, and 2 cores need the time.
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
    pg_ctl = str(binaries / "pg_ctl")
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        subprocess.run(_as_server_user(initdb), check=True, capture_output=True)
        start = [pg_ctl, "-D", str(data), "-l", str(folder / "server.log"), "-w"]
        start += ["-t", str(STARTUP_SECONDS), "-o", options, "start"]
        subprocess.run(_as_server_user(start), check=True, capture_output=True)
        yield PostgresServer(binaries, port)
    finally:
        stop = [pg_ctl, "-D", str(data), "-m", "fast", "stop"]
        subprocess.run(_as_server_user(stop), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    """A Redis server with no persistence on a free port; yields the port."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("Redis is not installed: run tools/ensure-packages.sh")
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="redis-test-"))
    command = [executable, "--port", str(port), "--bind", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def local_web_app(app: web.Application) -> AsyncIterator[str]:
    """An aiohttp app (a stand-in peer in a unit test) on a free local port: its URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
