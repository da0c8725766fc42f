"""The platform under gunicorn as deployed (gthread workers: the inbound webhook's group
commit needs threads), and a pool of keep-alive HTTP connections to hammer it with.

Used by the scenarios and by the tests that need the real server (tests/faults/).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def gunicorn(
    database_url: str,
    *,
    workers: int = 2,
    threads: int = 16,
    broker_url: str = "",
    environment: dict[str, str] | None = None,
) -> Iterator[Server]:
    """gunicorn serving smsplatform.wsgi on a free port, stopped (SIGTERM to its process
    group) when the block ends. Without `broker_url`, background tasks run in a thread
    of the web process (the embedded default)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": "",
        "CACHE_URL": "",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "faults-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(REPO),
        # DEBUG off without collectstatic: whitenoise's warning says nothing here.
        "PYTHONWARNINGS": "ignore:No directory at",
        **(environment or {}),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        [
            sys.executable, "-m", "gunicorn", "smsplatform.wsgi",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads),
            "--log-level", "warning", "--graceful-timeout", "10",
        ],
        cwd=REPO, env=env, start_new_session=True,
    )  # fmt: skip
    server = Server(port, process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}")
        try:
            # Any answer will do (/healthz is 503 without a broker): the server is up.
            urllib.request.urlopen(f"{server.url}/healthz", timeout=2)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in 60 s")


Request = tuple[Any, ...]  # (method, path, form fields or raw body[, headers])


def hammer(
    server: Server,
    requests: list[Request],
    *,
    connections: int,
    timeout: float = 60,
    durations: list[float] | None = None,
) -> Counter[int]:
    """Send `requests` ((method, path, form fields or a raw body, optional headers)) over
    `connections` kept-alive connections at once; the count of each status (0: no answer
    at all, -1: an attempt that lost its connection and was sent again, as a carrier
    would). `durations`, if given, gets each request's seconds, retries included."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    shares = [requests[n::connections] for n in range(connections)]
    start = threading.Barrier(connections)

    def run(share: list[Request]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
        start.wait()
        for method, path, fields, *extra in share:
            headers = {"Content-Type": "application/x-www-form-urlencoded", **(extra or [{}])[0]}
            body = fields if isinstance(fields, bytes) else urlencode(fields)
            status = 0
            began = time.monotonic()
            for _attempt in range(2):  # a keep-alive connection the server closed: reopen
                try:
                    connection.request(
                        method, path, body=body if method == "POST" else None, headers=headers
                    )
                    answer = connection.getresponse()
                    answer.read()
                    status = answer.status
                    break
                except (http.client.HTTPException, OSError):
                    with lock:
                        statuses[-1] += 1
                    connection.close()
                    connection = http.client.HTTPConnection(
                        "127.0.0.1", server.port, timeout=timeout
                    )
            with lock:
                statuses[status] += 1
                if durations is not None:
                    durations.append(time.monotonic() - began)
        connection.close()

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def wait_for(condition: Callable[[], bool], *, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
