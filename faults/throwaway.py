"""Throwaway Redis and PostgreSQL servers a scenario starts, restarts and removes itself:
the machine's shared services are never restarted.

- `private_redis()`: `redis-server --port <free> --save '' --appendonly no` (a restart
  loses everything it held, as a broker without persistence does);
- `private_postgres()`: a cluster made with `initdb` from /usr/lib/postgresql/*/bin,
  its data directory in a temporary directory, on a free port (run as the `postgres`
  user when this process is root: PostgreSQL refuses to run as root);
- `platform_on(database_url, redis_url)`: this process's Django connection and Celery
  app pointed at them for the block (migrations applied), then back.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from faults.gunicorn_server import free_port


def _wait_port(port: int, seconds: float = 30) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {seconds} s")


@dataclass
class PrivateRedis:
    port: int
    workdir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("a")
        self.process = subprocess.Popen(  # noqa: S603 (our own command line)
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",  # noqa: S607
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        _wait_port(self.port)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def restart(self, down_seconds: float = 1.0) -> None:
        """kill -9 and start again: everything queued or unacknowledged is gone."""
        self.stop()
        time.sleep(down_seconds)
        self.start()


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    workdir = Path(tempfile.mkdtemp(prefix="faults-redis-"))
    server = PrivateRedis(free_port(), workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} not found in /usr/lib/postgresql/*/bin")
    return found[-1]


@dataclass
class PrivatePostgres:
    port: int
    workdir: Path

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(  # noqa: S603 (our own command line)
            [*prefix, *command], check=True, capture_output=True, timeout=120
        )

    def ctl(self, action: str, *extra: str) -> None:
        self._run(
            _pg_bin("pg_ctl"), action, "-D", str(self.data), "-w", "-t", "60",
            "-l", str(self.workdir / "postgres.log"), *extra,
        )  # fmt: skip

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
        self._run(
            _pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.workdir} -c max_connections=200"
        )
        self.options = options
        self.ctl("start", "-o", options)

    def fast_restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, then it comes back."""
        self.ctl("restart", "-m", "fast", "-o", self.options)

    def stop(self) -> None:
        try:
            self.ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass

    def create_database(self, name: str) -> None:
        import psycopg2

        server = psycopg2.connect(self.url("postgres"))
        server.autocommit = True
        try:
            with server.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            server.close()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    workdir = Path(tempfile.mkdtemp(prefix="faults-pg-"))
    server = PrivatePostgres(free_port(), workdir)
    try:
        server.init()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def platform_on(*, database_url: str | None = None, redis_url: str | None = None) -> Iterator[None]:
    """This process's Django database and Celery broker switched for the block."""
    import dj_database_url
    from django.conf import settings
    from django.db import connections

    from smsplatform.celery import app

    saved_db = dict(settings.DATABASES["default"])
    saved_broker = app.conf.broker_url
    try:
        if database_url:
            connections.close_all()
            parsed = dj_database_url.parse(database_url, conn_max_age=0)
            settings.DATABASES["default"].update(
                {key: parsed[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
            )
            connections["default"].settings_dict.update(settings.DATABASES["default"])
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        if redis_url:
            _broker(app, redis_url)
        yield
    finally:
        if database_url:
            connections.close_all()
            settings.DATABASES["default"].clear()
            settings.DATABASES["default"].update(saved_db)
            connections["default"].settings_dict.clear()
            connections["default"].settings_dict.update(saved_db)
        if redis_url:
            _broker(app, saved_broker)


def _broker(app: object, url: str) -> None:
    """Point the Celery app at another broker: its pools are made again on next use
    (kombu keeps one pool per broker: the old one is left open for when we switch back)."""
    app.conf.broker_url = url  # type: ignore[attr-defined]
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None  # type: ignore[attr-defined]
