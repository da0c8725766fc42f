"""A real Kannel (bearerbox + smsbox) with Kannel's fakesmsc as the carrier, for tests.

Used by the end-to-end tests and the benchmarks; plain Python, no Django. The
configuration is kept in the repo (kannel/kannel.conf.template): `running_kannel()` picks
free ports, fills it in, starts fakesmsc's listener (bearerbox), fakesmsc and smsbox with
their logs in a work directory, waits until sendsms answers, and stops them all on exit.

    with running_kannel(tmp_path / "kannel") as kannel:
        status, body = kannel.sendsms(to="+33612345678", text="Café ☕", ucs2=True)
        [sms] = kannel.wait_received(1)   # Received(sender, receiver, coding, text, parts)

What fakesmsc received is read back from its output, one line per SMS (part):

    Got message 7: <BOUTIQUE +33612345678 text Bonjour STOP 36034>
    Got message 8: <BOUTIQUE +33612345678 ucs-2 %00C%00a%00f%00%E9%00+%26%15>
    Got message 9: <36034 +33612345678 udh %05%00%03%2A%02%01 data Bonjour...>

`text` is the GSM text as UTF-8, `ucs-2` the UTF-16BE bytes URL-encoded (space as "+"),
`udh` one part of a concatenated SMS: its UDH and its bytes, URL-encoded (UTF-8 for a GSM
text, UTF-16BE for UCS-2; the line does not say which). `received()` puts concatenated
parts back together and decodes every text.

`dlr_server()` is a small HTTP server to point a dlr-url at; it records Kannel's calls.
`mo_server()` is one to point an sms-service's get-url or post-url at (`running_kannel(
mo_post_url=...)`): it records each call with its headers and body, for `send_mo`.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "kannel" / "kannel.conf.template"
DEFAULT_BINARIES = {
    "KANNEL_BEARERBOX": "/usr/sbin/bearerbox",
    "KANNEL_SMSBOX": "/usr/sbin/smsbox",
    "KANNEL_FAKESMSC": "/usr/lib/kannel/test/fakesmsc",
}
# Kannel's delivery report types (the %d of a dlr-url), and dlr-mask is their sum.
DLR_DELIVERED, DLR_UNDELIVERED, DLR_BUFFERED, DLR_SMSC_ACCEPTED, DLR_SMSC_REJECTED = (
    1,
    2,
    4,
    8,
    16,
)
DLR_ALL = 31

_GOT = re.compile(r"Got message \d+: <(.*)>$")
# The sender may hold spaces (an alphanumeric sender ID); the receiver never does
# (sendsms-chars has no space), and the type is one of fakesmsc's words.
_LINE = re.compile(r"^(.*?) ([+0-9]+) (text|data|ucs-2|udh)(?: (.*))?$", re.DOTALL)
_UDH = re.compile(r"^(\S+) data ?(.*)$", re.DOTALL)
_STARTUP_ATTEMPTS = 3
# fakesmsc reads its stdin with a fixed buffer: a longer line is cut into several
# messages that bearerbox drops (1.4.5: 520 bytes pass, 522 do not).
FAKESMSC_STDIN_LINE = 512


class KannelMissing(RuntimeError):
    """Kannel's programs are not installed (or not where the KANNEL_* variables say)."""


class KannelFailed(RuntimeError):
    """Kannel did not start; the message names the log to read."""


def binaries() -> dict[str, str]:
    """bearerbox, smsbox and fakesmsc: from KANNEL_* variables, else Debian's paths."""
    return {name: os.environ.get(name) or default for name, default in DEFAULT_BINARIES.items()}


def require_binaries() -> dict[str, str]:
    paths = binaries()
    missing = [f"{path} (${name})" for name, path in paths.items() if not os.access(path, os.X_OK)]
    if missing:
        raise KannelMissing(
            "Kannel is not installed: missing "
            + ", ".join(missing)
            + " (Debian packages kannel and kannel-extras, or set KANNEL_BEARERBOX, "
            "KANNEL_SMSBOX, KANNEL_FAKESMSC)"
        )
    return paths


# -- what fakesmsc received ---------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One SMS as the carrier got it (the parts of a concatenated SMS put together)."""

    sender: str
    receiver: str
    coding: str  # "text" (GSM 7-bit), "ucs-2", or "data" (8-bit)
    text: str
    parts: int = 1


@dataclass(frozen=True)
class Part:
    """One line of fakesmsc: one SMS on the air."""

    sender: str
    receiver: str
    kind: str  # "text", "ucs-2", "data" or "udh"
    payload: bytes  # the text's bytes: UTF-8 (text), UTF-16BE (ucs-2), as sent (data, udh)
    udh: bytes = b""


def _url_bytes(value: str) -> bytes:
    return unquote_to_bytes(value.replace("+", " "))


def parse_fakesmsc(output: str) -> list[Part]:
    """fakesmsc's output, one Part per SMS it received.

    A GSM text goes out raw, so a newline in it ends fakesmsc's line: a "Got message"
    that is not `sender receiver type ...` continues the previous text.
    """
    parts: list[Part] = []
    for line in output.splitlines():
        got = _GOT.search(line)
        if not got:
            continue
        body = got.group(1)
        match = _LINE.match(body)
        if not match:
            if parts and parts[-1].kind == "text":
                last = parts[-1]
                parts[-1] = Part(
                    last.sender, last.receiver, "text", last.payload + b"\n" + body.encode()
                )
            continue
        sender, receiver, kind, rest = match.groups()
        rest = rest or ""
        if kind == "text":
            parts.append(Part(sender, receiver, kind, rest.encode("utf-8", "surrogateescape")))
        elif kind == "udh":
            udh = _UDH.match(rest)
            if not udh:
                continue
            parts.append(
                Part(sender, receiver, kind, _url_bytes(udh.group(2)), _url_bytes(udh.group(1)))
            )
        else:
            parts.append(Part(sender, receiver, kind, _url_bytes(rest)))
    return parts


def _concatenation(udh: bytes) -> tuple[int, int, int] | None:
    """(reference, total, number) from a UDH's concatenation element, if it has one."""
    if not udh:
        return None
    position, end = 1, min(len(udh), udh[0] + 1)
    while position + 1 < end:
        element, size = udh[position], udh[position + 1]
        data = udh[position + 2 : position + 2 + size]
        if element == 0x00 and size == 3:
            return data[0], data[1], data[2]
        if element == 0x08 and size == 4:
            return (data[0] << 8) | data[1], data[2], data[3]
        position += 2 + size
    return None


# GSM 03.38: what a 7-bit text can hold once Kannel has converted it (basic + extension).
GSM_ALPHABET = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "\f^{}\\[~]|€"
)


def _decode_parts(payload: bytes) -> tuple[str, str]:
    """The coding and text of a concatenated SMS's bytes (its parts don't say which).

    A GSM text's parts are UTF-8 with only GSM characters (Kannel turned any other into
    "?"); UCS-2 parts are UTF-16BE, where Latin letters, digits and spaces give zero bytes
    and most other texts read as invalid UTF-8 or as characters outside GSM.
    """
    if b"\x00" not in payload:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if set(text) <= GSM_ALPHABET or len(payload) % 2:
                return "text", text
    return "ucs-2", payload.decode("utf-16-be", "replace")


def assemble(parts: list[Part]) -> list[Received]:
    """SMS from fakesmsc's parts, in the order their first part arrived."""
    out: list[Received | None] = []
    pending: dict[tuple[str, str, int, int], tuple[int, dict[int, bytes]]] = {}
    for part in parts:
        if part.kind == "text":
            text = part.payload.decode("utf-8", "replace")
            out.append(Received(part.sender, part.receiver, "text", text))
        elif part.kind == "ucs-2":
            text = part.payload.decode("utf-16-be", "replace")
            out.append(Received(part.sender, part.receiver, "ucs-2", text))
        elif part.kind == "data":
            out.append(Received(part.sender, part.receiver, "data", part.payload.decode("latin-1")))
        else:
            concat = _concatenation(part.udh)
            if concat is None:  # a UDH of the sender's own (a port, a flash...): one SMS
                coding, text = _decode_parts(part.payload)
                out.append(Received(part.sender, part.receiver, coding, text))
                continue
            reference, total, number = concat
            key = (part.sender, part.receiver, reference, total)
            if key not in pending:
                pending[key] = (len(out), {})
                out.append(None)
            slot, pieces = pending[key]
            pieces[number] = part.payload
            if len(pieces) == total:
                del pending[key]
                payload = b"".join(pieces[n] for n in sorted(pieces))
                coding, text = _decode_parts(payload)
                out[slot] = Received(part.sender, part.receiver, coding, text, parts=total)
    return [sms for sms in out if sms is not None]  # incomplete ones are not received yet


# -- a running Kannel ---------------------------------------------------------------------


@dataclass
class KannelRun:
    workdir: Path
    sendsms_url: str
    admin_url: str
    admin_password: str
    username: str
    password: str
    ports: dict[str, int]
    dlr_base_url: str | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)
    fakesmsc_command: list[str] = field(default_factory=list, repr=False)
    _procs: _Processes | None = field(default=None, repr=False)
    _count_offset: int = field(default=0, repr=False)
    _count: int = field(default=0, repr=False)

    @property
    def fakesmsc_log(self) -> Path:
        return self.workdir / "fakesmsc.out"

    # -- sending ---------------------------------------------------------------------------

    def sendsms_params(
        self,
        to: str,
        text: str,
        *,
        sender: str | None = None,
        ucs2: bool = False,
        dlr_mask: int | None = None,
        dlr_url: str | None = None,
        **extra: str,
    ) -> dict[str, str]:
        """The GET parameters of one sendsms call, as the platform sends them."""
        params = {
            "username": self.username,
            "password": self.password,
            "to": to,
            "text": text,
            "charset": "UTF-8",
            "coding": "2" if ucs2 else "0",
        }
        if sender is not None:
            params["from"] = sender
        if dlr_mask is not None:
            params["dlr-mask"] = str(dlr_mask)
        if dlr_url is not None:
            params["dlr-url"] = dlr_url
        params.update(extra)
        return params

    def sendsms_query_url(self, params: dict[str, str]) -> str:
        return f"{self.sendsms_url}?{urlencode(params, quote_via=quote)}"

    def sendsms(self, to: str, text: str, **options: object) -> tuple[int, str]:
        """One sendsms GET: (HTTP status, body), e.g. (202, "0: Accepted for delivery")."""
        url = self.sendsms_query_url(self.sendsms_params(to, text, **options))  # type: ignore[arg-type]
        return http_get(url)

    # -- what the carrier sends ------------------------------------------------------------

    def send_mo(
        self, sender: str, receiver: str, text: str, *, ucs2: bool = False, timeout: float = 10.0
    ) -> None:
        """The carrier delivers an SMS from `sender` to `receiver` (the shortcode):
        fakesmsc hands it to bearerbox, and smsbox calls the sms-service's URL.

        A GSM text goes as it is (fakesmsc's "text"); ucs2=True sends it as UCS-2 (coding
        2: fakesmsc's "ucs2", the UTF-16BE bytes URL-encoded), in one message whatever
        its length, as an SMSC that has put the parts together hands it over.
        """
        if ucs2:
            payload = quote(text.encode("utf-16-be"), safe="")
            self.send_mo_line(f"{sender} {receiver} ucs2 {payload}", timeout=timeout)
        else:
            self.send_mo_line(f"{sender} {receiver} text {text}", timeout=timeout)

    def send_mo_parts(
        self, sender: str, receiver: str, text: str, *, reference: int = 1, size: int = 153
    ) -> int:
        """A long GSM text the way a phone sends it: parts of `size` characters, each with
        a concatenation UDH (fakesmsc's "udh-text"), for bearerbox to put together. The
        number of parts."""
        pieces = [text[start : start + size] for start in range(0, len(text), size)]
        for number, piece in enumerate(pieces, start=1):
            udh = bytes([5, 0, 3, reference, len(pieces), number])
            self.send_mo_line(f"{sender} {receiver} udh-text {quote(udh, safe='')} {piece}")
        return len(pieces)

    def send_mo_line(self, line: str, timeout: float = 10.0) -> None:
        """One line to fakesmsc ("from to type [udh] data", see `fakesmsc -h`).

        Returns once fakesmsc says it sent it: fakesmsc takes one message per read of its
        stdin, so a second line written at once would wait for the next one. A line too
        long for its stdin goes through a fakesmsc of its own (`_send_mo_alone`).
        """
        if "\n" in line:
            raise ValueError("fakesmsc reads one message per line")
        if len(line.encode()) > FAKESMSC_STDIN_LINE:
            self._send_mo_alone(line, timeout)
            return
        before = self.output().count("fakesmsc: sent message")
        stdin = self.processes["fakesmsc"].stdin
        assert stdin is not None
        stdin.write(f"{line}\n".encode())
        stdin.flush()
        deadline = time.monotonic() + timeout
        while self.output().count("fakesmsc: sent message") <= before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fakesmsc did not send the MO message in {timeout:.0f} s")
            time.sleep(0.02)

    def _send_mo_alone(self, line: str, timeout: float) -> None:
        """A message too long for fakesmsc's stdin, given on the command line of a fakesmsc
        of its own (`-m 1`), where no buffer limits it. bearerbox's fake SMSC serves one
        client at a time, so the interactive fakesmsc steps aside meanwhile; an SMS
        bearerbox sends it during the swap is queued again and delivered once it is back."""
        assert self._procs is not None
        received = self.mo_received()
        self._stop_fakesmsc()
        self.processes["fakesmsc"] = self._procs.start(
            "fakesmsc", [*self.fakesmsc_command, "-m", "1", line]
        )
        _wait(lambda: self.mo_received() > received, "the long MO message", self._procs, timeout)
        self._stop_fakesmsc()
        self.processes["fakesmsc"] = self._procs.start(
            "fakesmsc", self.fakesmsc_command, stdin=subprocess.PIPE
        )
        _wait(lambda: "(online" in self.status().partition("SMSC connections:")[2],
              "fakesmsc back online", self._procs, timeout)  # fmt: skip

    def _stop_fakesmsc(self) -> None:
        """SIGINT: fakesmsc closes its connection and exits (interactive or not)."""
        assert self._procs is not None
        proc = self.processes.pop("fakesmsc")
        _signal(proc, signal.SIGINT)
        proc.wait(timeout=10)
        self._procs.forget(proc)

    def mo_received(self) -> int:
        """How many MO messages (parts) bearerbox has received from the fake SMSC."""
        found = re.search(r"^SMS: received (\d+)", self.status(), re.MULTILINE)
        return int(found.group(1)) if found else 0

    # -- what the carrier got -------------------------------------------------------------

    def output(self) -> str:
        if not self.fakesmsc_log.exists():
            return ""
        return self.fakesmsc_log.read_text("utf-8", "surrogateescape")

    def parts(self) -> list[Part]:
        """Every SMS (part) fakesmsc received, in order."""
        return parse_fakesmsc(self.output())

    def received(self) -> list[Received]:
        """Every SMS fakesmsc received, in order, concatenated parts put together."""
        return assemble(self.parts())

    def received_count(self) -> int:
        """How many lines fakesmsc has printed so far (parts, cheap: reads only what's new)."""
        if not self.fakesmsc_log.exists():
            return 0
        with self.fakesmsc_log.open("rb") as out:
            out.seek(self._count_offset)
            data = out.read()
        complete = data.rfind(b"\n") + 1
        self._count += data.count(b"Got message ", 0, complete)
        self._count_offset += complete
        return self._count

    def wait_received(
        self, count: int, *, timeout: float = 60.0, strict: bool = False
    ) -> list[Received]:
        """Until fakesmsc has `count` SMS (or the timeout): what it has then.

        strict=True raises TimeoutError instead of returning fewer.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.received_count() >= count:
                got = self.received()
                if len(got) >= count:
                    return got
            if time.monotonic() > deadline:
                got = self.received()
                if strict and len(got) < count:
                    raise TimeoutError(
                        f"fakesmsc received {len(got)} SMS of {count} in {timeout:.0f} s"
                    )
                return got
            time.sleep(0.05)

    def wait_parts(self, count: int, *, timeout: float = 60.0) -> int:
        """Until fakesmsc has printed `count` parts; the number it has (cheap: for a bench)."""
        deadline = time.monotonic() + timeout
        while (got := self.received_count()) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return got

    # -- bearerbox ------------------------------------------------------------------------

    def status(self) -> str:
        return http_get(f"{self.admin_url}/status.txt?password={self.admin_password}")[1]

    def logs(self, tail: int = 40) -> str:
        """The last lines of every log, to print when a test fails."""
        chunks = []
        for path in sorted(self.workdir.glob("*.log")) + sorted(self.workdir.glob("*.out")):
            lines = path.read_text("utf-8", "replace").splitlines()[-tail:]
            chunks.append(f"== {path.name}\n" + "\n".join(lines))
        return "\n".join(chunks)


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    request = urllib.request.Request(url)  # noqa: S310 (http:// on 127.0.0.1)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _token(size: int = 16) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(size))


def render_config(values: dict[str, object], template: Path = TEMPLATE) -> str:
    """The template with ${NAME} filled; a line whose value is None is left out."""
    lines = []
    for line in template.read_text().splitlines():
        names = re.findall(r"\$\{(\w+)\}", line)
        if any(name not in values for name in names):
            missing = [name for name in names if name not in values]
            raise KeyError(f"{template.name}: no value for {', '.join(missing)}")
        if any(values[name] is None for name in names):
            continue
        for name in names:
            line = line.replace("${" + name + "}", str(values[name]))
        lines.append(line)
    return "\n".join(lines) + "\n"


class _Processes:
    """The programs started, stopped in reverse order (SIGTERM, then SIGKILL)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[tuple[str, subprocess.Popen]] = []
        # Kill them with this process even if it dies without cleaning up (SIGKILL...).
        self.prefix = (
            ["setpriv", "--pdeathsig", "KILL"]
            if shutil.which("setpriv") and os.name == "posix"
            else []
        )

    def start(
        self, name: str, args: list[str], *, stdin: int = subprocess.DEVNULL
    ) -> subprocess.Popen:
        with (self.workdir / f"{name}.out").open("ab") as out:
            proc = subprocess.Popen(
                self.prefix + args,
                stdin=stdin,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.started.append((name, proc))
        return proc

    def forget(self, proc: subprocess.Popen) -> None:
        """A program that ended on purpose: no longer checked nor stopped."""
        self.started = [(name, started) for name, started in self.started if started is not proc]

    def check(self) -> None:
        for name, proc in self.started:
            if proc.poll() is not None:
                raise KannelFailed(
                    f"{name} exited with {proc.returncode}: see {self.workdir / (name + '.out')}"
                    f" and {self.workdir / (name + '.log')}"
                )

    def stop(self, timeout: float = 5.0) -> None:
        """bearerbox first, as Kannel's own checks do: it tells smsbox to shut down and
        closes fakesmsc's connection, so both end by themselves. (smsbox sent SIGTERM
        first hangs in its shutdown now and then.) Whatever is left after `timeout` is
        killed."""
        first = [proc for name, proc in self.started if name == "bearerbox"]
        for proc in first:
            _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _name, proc in reversed(self.started):
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + 1.0
        for _name, proc in self.started:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)
                proc.wait()
        self.started.clear()


def _signal(proc: subprocess.Popen, signum: int) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass


def _wait(condition, what: str, procs: _Processes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        procs.check()
        try:
            if condition():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise KannelFailed(
                f"Kannel: {what} not within {timeout:.0f} s; logs in {procs.workdir}"
            )
        time.sleep(0.02)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ready(run: KannelRun) -> bool:
    """bearerbox sees smsbox and the fake SMSC online, and sendsms answers HTTP."""
    status = run.status()
    boxes, _, smscs = status.partition("SMSC connections:")
    if "smsbox:" not in boxes.split("Box connections:")[-1] or "(online" not in smscs:
        return False
    # Wrong credentials: smsbox answers 403 without sending anything.
    code, _body = http_get(f"{run.sendsms_url}?username=ready&password=probe&to=1&text=x")
    return code == 403


@contextmanager
def running_kannel(
    workdir: Path,
    dlr_base_url: str | None = None,
    *,
    log_level: int = 1,
    access_log: bool = True,
    startup_timeout: float = 20.0,
    mo_url: str | None = None,
    mo_post_url: str | None = None,
    send_sender: bool | None = None,
    mo_recode: bool | None = None,
) -> Iterator[KannelRun]:
    """bearerbox, fakesmsc and smsbox running on free ports until the block ends.

    dlr_base_url: the dlr-url Kannel uses when a request has a dlr-mask but no dlr-url.
    mo_url: the sms-service get-url Kannel calls with each MO message (`send_mo`), with
    Kannel's escapes (%p sender, %P receiver, %a text, %I message id...).
    mo_post_url: instead, the sms-service post-url Kannel POSTs each MO message to (the
    text as the body, the rest in X-Kannel-* headers; escapes work in it too).
    send_sender: the sms-service's send-sender (None: left out, Kannel's default).
    mo_recode: smsbox's mo-recode (None: left out, Kannel's default: off), which turns a
    UCS-2 MO message into UTF-8 before the sms-service's URL is called.
    log_level: Kannel's, 0 (debug: hex dumps of every HTTP call) to 4 (panics only).
    access_log: bearerbox's and smsbox's one line per message (off for a benchmark).
    """
    paths = require_binaries()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, _STARTUP_ATTEMPTS + 1):
        procs = _Processes(workdir)
        try:
            run = _start(
                workdir, paths, procs, dlr_base_url, log_level, access_log, startup_timeout,
                _mo_service(mo_url, mo_post_url, send_sender, mo_recode),
            )  # fmt: skip
        except KannelFailed:
            procs.stop()
            # Another program may have taken one of the free ports in between: try anew.
            if attempt == _STARTUP_ATTEMPTS or not _port_clash(workdir):
                raise
            continue
        except BaseException:
            procs.stop()
            raise
        break
    try:
        yield run
    finally:
        procs.stop()


def _port_clash(workdir: Path) -> bool:
    text = ""
    for path in workdir.glob("*.out"):
        text += path.read_text("utf-8", "replace")
    return "Address already in use" in text or "bind failed" in text.lower()


def _mo_service(
    get_url: str | None,
    post_url: str | None,
    send_sender: bool | None = None,
    mo_recode: bool | None = None,
) -> dict[str, object]:
    """The sms-service's template values: one of get-url and post-url (Kannel takes one)."""
    if get_url and post_url:
        raise ValueError("an sms-service has a get-url or a post-url, not both")
    return {
        "MO_GET_URL": None if post_url else get_url or "http://127.0.0.1:9/unused?text=%a",
        "MO_POST_URL": post_url,
        "MO_SEND_SENDER": _yes_no(send_sender),
        "MO_RECODE": _yes_no(mo_recode),
    }


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else str(value).lower()


def _start(
    workdir: Path,
    paths: dict[str, str],
    procs: _Processes,
    dlr_base_url: str | None,
    log_level: int,
    access_log: bool,
    timeout: float,
    mo_service: dict[str, object] | None = None,
) -> KannelRun:
    admin, smsbox_port, fake_port, sendsms = _free_ports(4)
    run = KannelRun(
        workdir=workdir,
        sendsms_url=f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms",
        admin_url=f"http://127.0.0.1:{admin}",
        admin_password=_token(),
        username="platform",
        password=_token(),
        ports={"admin": admin, "smsbox": smsbox_port, "fakesmsc": fake_port, "sendsms": sendsms},
        dlr_base_url=dlr_base_url,
    )
    run.processes = {}
    values: dict[str, object] = {
        "ADMIN_PORT": admin,
        "ADMIN_PASSWORD": run.admin_password,
        "SMSBOX_PORT": smsbox_port,
        "FAKESMSC_PORT": fake_port,
        "SENDSMS_PORT": sendsms,
        "WORKDIR": workdir,
        "LOG_LEVEL": log_level,
        "ACCESS_LOG": workdir / "access.log" if access_log else None,
        "SMSBOX_ACCESS_LOG": workdir / "smsbox-access.log" if access_log else None,
        "USERNAME": run.username,
        "PASSWORD": run.password,
        "DLR_URL": dlr_base_url,
        **(mo_service or _mo_service(None, None)),
    }
    conf = workdir / "kannel.conf"
    conf.write_text(render_config(values))
    for stale in ("fakesmsc.out", "bearerbox.out", "smsbox.out"):
        (workdir / stale).unlink(missing_ok=True)

    # -v: what goes to stderr (*.out) besides the log file: warnings and worse.
    verbosity = ["-v", str(max(log_level, 2))]
    run.processes["bearerbox"] = procs.start(
        "bearerbox", [paths["KANNEL_BEARERBOX"], *verbosity, str(conf)]
    )
    _wait(lambda: _listening(fake_port), "bearerbox's fake SMSC port", procs, timeout)
    # Without a message argument fakesmsc is interactive: each line on its stdin is an MO
    # message it sends to bearerbox ("from to text STOP"), see KannelRun.send_mo; it
    # prints every MT message it receives. Its stdin stays open until Kannel stops.
    run.fakesmsc_command = [paths["KANNEL_FAKESMSC"], "-H", "127.0.0.1", "-r", str(fake_port)]
    run._procs = procs
    run.processes["fakesmsc"] = procs.start("fakesmsc", run.fakesmsc_command, stdin=subprocess.PIPE)
    run.processes["smsbox"] = procs.start("smsbox", [paths["KANNEL_SMSBOX"], *verbosity, str(conf)])
    _wait(lambda: _ready(run), "sendsms and the fake SMSC ready", procs, timeout)
    return run


# -- a dlr-url target ---------------------------------------------------------------------


@dataclass(frozen=True)
class DlrCall:
    path: str  # as Kannel sent it, still URL-encoded
    params: dict[str, str]  # the query, decoded (the last value of a repeated name)
    at: float  # time.monotonic()


class DlrRecorder:
    """What Kannel called on the dlr-url: `url` to give Kannel, `calls` as they came."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_port}/dlr"
        self.calls: list[DlrCall] = []
        self.status = 200
        self._changed = threading.Condition()

    def record(self, path: str) -> int:
        query = urlsplit(path).query
        call = DlrCall(path, dict(parse_qsl(query, keep_blank_values=True)), time.monotonic())
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return self.status

    def wait(self, count: int, *, timeout: float = 10.0) -> list[DlrCall]:
        """Until `count` calls came (or the timeout): the calls so far."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.calls) >= count, timeout=timeout)
            return list(self.calls)

    def settle(self, quiet: float = 0.5, *, timeout: float = 10.0) -> list[DlrCall]:
        """Until no call came for `quiet` seconds: every call."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while time.monotonic() < deadline:
                seen = len(self.calls)
                self._changed.wait(quiet)
                if len(self.calls) == seen:
                    break
            return list(self.calls)


class _DlrHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: Kannel opens connections in bursts, the SYNs
    # past 5 are dropped, and a report whose connection fails is lost (no retry).
    request_queue_size = 1024


@contextmanager
def dlr_server() -> Iterator[DlrRecorder]:
    """An HTTP server on a free port of 127.0.0.1 that answers 200 and records each GET."""
    recorder: DlrRecorder

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # Kannel keeps its connections alive
        # Headers and body leave in two writes: without TCP_NODELAY, Nagle + delayed ACK
        # hold each answer ~40 ms and Kannel's report calls crawl (~180/s instead of ~2,000).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            status = recorder.record(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _DlrHttpServer(("127.0.0.1", 0), Handler)
    recorder = DlrRecorder(server)
    thread = threading.Thread(target=server.serve_forever, name="dlr-server", daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- an sms-service target ----------------------------------------------------------------


@dataclass(frozen=True)
class MoCall:
    """One call Kannel made to an sms-service's get-url or post-url, as it came."""

    method: str
    path: str  # as Kannel sent it, still URL-encoded
    headers: tuple[tuple[str, str], ...]  # in Kannel's order and spelling
    body: bytes
    at: float  # time.monotonic()

    @property
    def params(self) -> dict[str, str]:
        """The query, decoded (the last value of a repeated name)."""
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class MoRecorder:
    """What Kannel sent to the sms-service: `url` to give Kannel (add the escapes to it),
    `calls` as they came; each is answered `status` with an empty body (an sms-service
    with max-messages = 0 sends nothing back)."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.url = f"http://127.0.0.1:{server.server_port}/mo"
        self.calls: list[MoCall] = []
        self.status = 200
        self._changed = threading.Condition()

    def record(self, call: MoCall) -> int:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return self.status

    def wait(self, count: int, *, timeout: float = 10.0) -> list[MoCall]:
        """Until `count` calls came (or the timeout): the calls so far."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.calls) >= count, timeout=timeout)
            return list(self.calls)


@contextmanager
def mo_server() -> Iterator[MoRecorder]:
    """An HTTP server on a free port of 127.0.0.1 that records each GET and POST, with
    its headers and body, and answers 200."""
    recorder: MoRecorder

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _record(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(size) if size else b""
            call = MoCall(
                self.command, self.path, tuple(self.headers.items()), body, time.monotonic()
            )
            self.send_response(recorder.record(call))
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _record

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _DlrHttpServer(("127.0.0.1", 0), Handler)
    recorder = MoRecorder(server)
    thread = threading.Thread(target=server.serve_forever, name="mo-server", daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
