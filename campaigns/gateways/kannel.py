"""Kannel's HTTP `sendsms` interface on smsbox.

One GET per message (Kannel takes one text per request). UCS-2 texts go with `coding=2`
and the text in UTF-8 (`charset=UTF-8`): Kannel converts. Every message asks for
delivery reports (`dlr-mask=31`) on the platform's webhook, with the platform's own
message id in the URL, so a report finds its message without any lookup table.

The requests go out on `connections` kept-alive HTTP/1.1 connections driven by one
asyncio event loop, in a thread of its own that lives as long as the worker process (so
the connections outlive a batch). The client is a few lines of HTTP/1.1 written for this
one server rather than a library: measured against Kannel on the benchmark machine (2
CPUs, `python bench/kannel_ceiling.py`), aiohttp reached 4,300-4,600 sendsms/s and a
thread pool of `http.client` connections 5,800, against 6,300-6,600 for this loop;
smsbox itself needs most of a CPU at that rate, so the client's CPU is what decides.

Never sent twice: a request is written once. A connection that cannot be opened means
nothing was sent (the message is queued again); a connection that breaks after the
request was written leaves the outcome unknown: the message becomes `unknown` with the
reason, for Kannel's delivery report or support staff to settle, never re-sent blindly.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from urllib.parse import quote, urlencode, urlsplit

from campaigns.gateways.base import Gateway, OutgoingSms, SendResult

# delivered (1) + undelivered (2) + buffered (4) + SMSC accepted (8) + SMSC rejected (16)
ALL_REPORTS = 31
CONNECT_TIMEOUT_SECONDS = 10
TIMEOUT_SECONDS = 30
# Kannel's answers are a status line, a few headers and one line of text.
MAX_BODY_BYTES = 64 * 1024

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class KannelGateway(Gateway):
    name = "kannel"
    chunk_size = 1000

    def __init__(
        self,
        *,
        sendsms_url: str,
        username: str,
        password: str,
        report_url: str,
        max_per_second: float = 0,
        connections: int = 16,
        dlr_mask: int = ALL_REPORTS,
    ) -> None:
        super().__init__(max_per_second=max_per_second)
        parts = urlsplit(sendsms_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"KANNEL_SENDSMS_URL must be an http:// URL, not {sendsms_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = parts.path or "/cgi-bin/sendsms"
        self.username = username
        self.password = password
        # "…/webhooks/kannel/report/?secret=…": the message id and Kannel's escapes are added.
        self.report_url = report_url
        self.connections = max(1, connections)
        self.dlr_mask = dlr_mask
        self._head = f" HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode("ascii")
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._idle: list[Connection] = []  # only touched in the loop's thread

    # -- one request ---------------------------------------------------------------------

    def query(self, sms: OutgoingSms) -> str:
        params = {
            "username": self.username,
            "password": self.password,
            "to": sms.to,
            "text": sms.text,
            "charset": "UTF-8",
            "coding": "2" if sms.ucs2 else "0",
        }
        if self.dlr_mask:
            params["dlr-mask"] = str(self.dlr_mask)
            params["dlr-url"] = self.dlr_url(sms.message_id)
        if sms.sender:
            params["from"] = sms.sender
        return urlencode(params, quote_via=quote)

    def prepare(self, messages: Sequence[OutgoingSms]) -> None:
        for sms in messages:  # the request line must be ASCII (urlencode quotes the rest)
            self.query(sms).encode("ascii")

    def dlr_url(self, message_id: int) -> str:
        # Kannel fills %d (report type), %A (SMSC's answer) and %T (time) when it calls.
        joiner = "&" if "?" in self.report_url else "?"
        return f"{self.report_url}{joiner}id={message_id}&type=%d&answer=%A&ts=%T"

    # -- the event loop --------------------------------------------------------------------

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        """This process's loop, started on first use (a forked worker starts its own)."""
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="kannel", daemon=True).start()
                self._loop, self._pid, self._idle = loop, os.getpid(), []
            return self._loop

    def close(self) -> None:
        """Close the kept-alive connections and stop the loop (tests and benchmarks)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None or self._pid != os.getpid():
            return

        async def close_all() -> None:
            for _reader, writer in self._idle:
                writer.close()
            self._idle = []

        asyncio.run_coroutine_threadsafe(close_all(), loop).result(TIMEOUT_SECONDS)
        loop.call_soon_threadsafe(loop.stop)

    def _send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        future = asyncio.run_coroutine_threadsafe(self._send_all(messages), self._event_loop())
        return future.result()

    async def _send_all(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        results: list[SendResult | None] = [None] * len(messages)
        work = iter(enumerate(messages))

        async def sender() -> None:
            connection: Connection | None = None
            for index, sms in work:
                results[index], connection = await self._send_one(sms, connection)
            if connection is not None:
                self._release(connection)

        await asyncio.gather(*(sender() for _ in range(min(self.connections, len(messages)))))
        return results  # type: ignore[return-value] (every slot is filled)

    async def _send_one(
        self, sms: OutgoingSms, connection: Connection | None
    ) -> tuple[SendResult, Connection | None]:
        if connection is None:
            try:
                connection = await self._checkout()
            except (OSError, TimeoutError) as error:
                # Nothing was sent: the message goes back to the queue for later.
                reason = f"kannel unreachable: {error or type(error).__name__}"
                return SendResult(sms.message_id, False, error=reason, retry=True), None
        reader, writer = connection
        try:
            writer.write(b"GET " + f"{self.path}?{self.query(sms)}".encode("ascii") + self._head)
            async with asyncio.timeout(TIMEOUT_SECONDS):
                status, body, close = await _read_response(reader)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
            # The request may have reached Kannel: the outcome is unknown, never re-sent.
            writer.close()
            reason = f"kannel: no answer ({error or type(error).__name__})"
            return SendResult(sms.message_id, False, error=reason[:255], unknown=True), None
        if close:
            writer.close()
            connection = None
        if status in (200, 202) and body.startswith("0:"):
            # "0: Accepted for delivery": Kannel has it; our id is the gateway id.
            return SendResult(sms.message_id, True, gateway_id=str(sms.message_id)), connection
        reason = f"kannel {status}: {body}"[:255]
        return SendResult(sms.message_id, False, error=reason), connection

    async def _checkout(self) -> Connection:
        """A kept-alive connection Kannel has not closed meanwhile, or a new one."""
        while self._idle:
            reader, writer = self._idle.pop()
            if reader.at_eof() or writer.is_closing():
                writer.close()
                continue
            return reader, writer
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT_SECONDS
        )

    def _release(self, connection: Connection) -> None:
        if len(self._idle) < self.connections:
            self._idle.append(connection)
        else:
            connection[1].close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, str, bool]:
    """(status, body, server closes) of one HTTP/1.1 answer with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *headers = head.decode("latin-1").split("\r\n")
    version, status, *_reason = status_line.split(" ", 2)
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP answer: {status_line[:80]!r}")
    length: int | None = None
    close = version == "HTTP/1.0"
    for line in headers:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
        elif name == "transfer-encoding" and value.strip().lower() != "identity":
            raise ValueError(f"unexpected Transfer-Encoding: {value.strip()}")
    if length is None:
        body = await reader.read(MAX_BODY_BYTES)  # the server ends it by closing
        close = True
    elif length > MAX_BODY_BYTES:
        raise ValueError(f"answer of {length} bytes")
    else:
        body = await reader.readexactly(length)
    return int(status), body.decode("utf-8", "replace").strip(), close
