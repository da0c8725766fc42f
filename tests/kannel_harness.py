"""Start a real Kannel (bearerbox + smsbox) with Kannel's fakesmsc as the carrier.

Used by the end-to-end test and the benchmark. The configuration is kept in the repo
(kannel/kannel.conf.template); this module picks free ports, fills it in, starts the
three programs with their logs in a work directory, and stops them all on exit.

What fakesmsc received is read back from its output, one line per message:

    Got message 7: <BOUTIQUE +33612345678 text Bonjour STOP 36034>
    Got message 8: <BOUTIQUE +447400123456 ucs-2 %00C%00a%00f%00%E9...>

(UCS-2 arrives URL-encoded as UTF-16 big-endian bytes.)
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import string
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "kannel" / "kannel.conf.template"
BEARERBOX = os.environ.get("KANNEL_BEARERBOX", "/usr/sbin/bearerbox")
SMSBOX = os.environ.get("KANNEL_SMSBOX", "/usr/sbin/smsbox")
FAKESMSC = os.environ.get("KANNEL_FAKESMSC", "/usr/lib/kannel/test/fakesmsc")
_RECEIVED = re.compile(r"Got message \d+: <(\S+) (\S+) (text|ucs-2|data) ?(.*)>$")


class KannelMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Received:
    sender: str
    receiver: str
    coding: str  # "text" or "ucs-2"
    text: str


@dataclass
class KannelRun:
    workdir: Path
    sendsms_url: str
    admin_url: str
    admin_password: str
    username: str
    password: str

    @property
    def fakesmsc_log(self) -> Path:
        return self.workdir / "fakesmsc.out"

    def received(self) -> list[Received]:
        """Every message fakesmsc got, in order, with its text decoded."""
        out = []
        if not self.fakesmsc_log.exists():
            return out
        for line in self.fakesmsc_log.read_text("utf-8", "replace").splitlines():
            match = _RECEIVED.search(line)
            if not match:
                continue
            sender, receiver, coding, data = match.groups()
            if coding == "ucs-2":
                text = unquote_to_bytes(data.replace("+", " ")).decode("utf-16-be")
            elif coding == "data":
                text = unquote_to_bytes(data.replace("+", " ")).decode("latin-1")
            else:
                text = data
            out.append(Received(sender, receiver, coding, text))
        return out

    def wait_received(self, count: int, *, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.received()
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    def status(self) -> str:
        url = f"{self.admin_url}/status.txt?password={self.admin_password}"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (localhost)
            return response.read().decode()


def require_binaries() -> None:
    missing = [path for path in (BEARERBOX, SMSBOX, FAKESMSC) if not os.access(path, os.X_OK)]
    if missing:
        raise KannelMissing(
            "Kannel is not installed: missing "
            + ", ".join(missing)
            + " (Debian packages kannel and kannel-extras)"
        )


def _free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        ports.append(sock.getsockname()[1])
    for sock in sockets:
        sock.close()
    return ports


def _wait_port(port: int, timeout: float, what: str, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} ({what})")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"Kannel's {what} did not open port {port} within {timeout:.0f} s")


def _token(size: int = 16) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(size))


@contextmanager
def running_kannel(workdir: Path, *, log_level: int = 1) -> Iterator[KannelRun]:
    """bearerbox, fakesmsc and smsbox running on free ports until the block ends."""
    require_binaries()
    workdir.mkdir(parents=True, exist_ok=True)
    admin, smsbox_port, fake_port, sendsms = _free_ports(4)
    run = KannelRun(
        workdir=workdir,
        sendsms_url=f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms",
        admin_url=f"http://127.0.0.1:{admin}",
        admin_password=_token(),
        username="platform",
        password=_token(),
    )
    values = {
        "ADMIN_PORT": admin,
        "ADMIN_PASSWORD": run.admin_password,
        "SMSBOX_PORT": smsbox_port,
        "FAKESMSC_PORT": fake_port,
        "SENDSMS_PORT": sendsms,
        "WORKDIR": workdir,
        "LOG_LEVEL": log_level,
        "USERNAME": run.username,
        "PASSWORD": run.password,
    }
    config = TEMPLATE.read_text()
    for key, value in values.items():
        config = config.replace("${" + key + "}", str(value))
    conf = workdir / "kannel.conf"
    conf.write_text(config)

    procs: list[subprocess.Popen] = []
    logs = []

    def start(args: list[str], log: str) -> subprocess.Popen:
        out = (workdir / log).open("wb")
        logs.append(out)
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True
        )
        procs.append(proc)
        return proc

    try:
        start([BEARERBOX, str(conf)], "bearerbox.out")
        _wait_port(fake_port, 20, "bearerbox (fake SMSC port)", procs)
        # -m 0: fakesmsc sends no messages of its own; it only receives and answers.
        start(
            [FAKESMSC, "-H", "127.0.0.1", "-r", str(fake_port), "-m", "0", "1 2 text x"],
            "fakesmsc.out",
        )
        start([SMSBOX, str(conf)], "smsbox.out")
        _wait_port(sendsms, 20, "smsbox (sendsms port)", procs)
        _wait_ready(run)
        yield run
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for out in logs:
            out.close()


def _wait_ready(run: KannelRun, timeout: float = 20) -> None:
    """Until bearerbox reports the fake SMSC online (smsbox accepts before that)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if "online" in run.status().split("SMSC connections:")[-1]:
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise RuntimeError("Kannel's fake SMSC did not come online")
