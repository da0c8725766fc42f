"""The carrier edge, mocked: a recording server that speaks Kannel's `sendsms`.

The platform's Kannel client (`campaigns/gateways/kannel.py`) sends one GET per message
with `dlr-url=…?id=<platform message id>&type=%d…`. This server answers each one as
smsbox does (`202`, `0: Accepted for delivery`) and records, for every request it read
whole, the platform's message id (parsed from the dlr-url), the receive time (wall
clock, comparable with PostgreSQL's `now()` on the same machine) and the number. So
losses and duplicates are counted from what reached the carrier, never guessed.

- `drop`: ids (or a predicate) for which the request is accepted (recorded) and the
  connection is then cut without an answer: the ambiguous failure of issue 7 item 5.
- `hold()` / `release()`: requests are recorded but their answers kept, then given: a
  stalled carrier, so that a process killed meanwhile is certainly mid-chunk.
- `report(ids)`: the carrier's delivery reports (type 1, delivered) for the given ids
  it really received, sent to each message's dlr-url by a few threads over kept-alive
  connections, as Kannel calls the platform's report webhook.

An asyncio Protocol on keep-alive HTTP/1.1 in a thread of its own: a few tens of
thousands of requests per second, far above what dispatch asks of it.
"""

from __future__ import annotations

import asyncio
import http.client
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

ANSWER = (
    b"HTTP/1.1 202 Accepted\r\nContent-Type: text/html\r\nContent-Length: 24\r\n\r\n"
    b"0: Accepted for delivery"
)
REPORT_RETRIES = 5
REPORT_RETRY_DELAY = 1.0
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 14\r\n\r\n3: bad request"


@dataclass(frozen=True, slots=True)
class Received:
    message_id: int
    at: float  # time.time() when the request was read
    to: str
    dlr_url: str


class _Edge(asyncio.Protocol):
    def __init__(self, carrier: Carrier) -> None:
        self.carrier = carrier
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            if not self._answer(head):
                return

    def _answer(self, head: bytes) -> bool:
        assert self.transport is not None
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        try:
            _method, target, _version = request_line.split(" ", 2)
            fields = parse_qs(urlsplit(target).query)
            dlr_url = fields["dlr-url"][0]
            message_id = int(parse_qs(urlsplit(dlr_url).query)["id"][0])
            to = fields.get("to", [""])[0]
        except (ValueError, KeyError, IndexError):
            self.transport.write(BAD)
            return True
        record = Received(message_id, time.time(), to, dlr_url)
        self.carrier._record(record)
        if self.carrier._drops(message_id):
            # Accepted, then the connection is cut before any answer.
            self.transport.abort()
            return False
        if self.carrier._held is not None:
            self.carrier._held.append(self.transport)  # answered on release()
            return True
        self.transport.write(ANSWER)
        return True


class Carrier:
    """Start with `with Carrier() as carrier:`; `carrier.url` is KANNEL_SENDSMS_URL."""

    def __init__(
        self,
        *,
        drop: Iterable[int] | Callable[[int], bool] = (),
        report_threads: int = 8,
    ) -> None:
        self._drop = drop if callable(drop) else frozenset(drop).__contains__
        self._lock = threading.Lock()
        self.log: list[Received] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._reports: queue.Queue[Received | None] = queue.Queue()
        self._report_threads = report_threads
        self._reporters: list[threading.Thread] = []
        # Final status of each report, and of every attempt (0: no answer).
        self.reports_answered: Counter[int] = Counter()
        self.report_attempts: Counter[int] = Counter()
        self._reports_pending = 0
        self.dropped = 0
        self._held: list[asyncio.Transport] | None = None  # only touched in the loop

    # -- the server ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/sendsms"

    def set_drop(self, drop: Iterable[int] | Callable[[int], bool]) -> None:
        self._drop = drop if callable(drop) else frozenset(drop).__contains__

    def hold(self) -> None:
        """From now on, record requests but keep their answers (a carrier that stalls):
        every sender ends up waiting in the middle of a chunk."""

        def start() -> None:
            if self._held is None:
                self._held = []

        self._call(start)

    def release(self) -> int:
        """Answer what was held, and answer at once again; how many were held."""

        def answer() -> int:
            held, self._held = self._held or [], None
            for transport in held:
                if not transport.is_closing():
                    transport.write(ANSWER)
            return len(held)

        return self._call(answer)

    def _call(self, function: Callable[[], object]) -> Any:
        assert self._loop is not None

        async def run() -> object:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def _drops(self, message_id: int) -> bool:
        if self._drop(message_id):
            self.dropped += 1
            return True
        return False

    def _record(self, record: Received) -> None:
        with self._lock:
            self.log.append(record)

    def __enter__(self) -> Carrier:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                loop.create_server(lambda: _Edge(self), "127.0.0.1", 0, backlog=512)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=serve, name="carrier", daemon=True)
        self._thread.start()
        ready.wait(10)
        for n in range(self._report_threads):
            thread = threading.Thread(target=self._reporter, name=f"reports-{n}", daemon=True)
            thread.start()
            self._reporters.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        for _thread in self._reporters:
            self._reports.put(None)
        for thread in self._reporters:
            thread.join(timeout=30)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- what it received ------------------------------------------------------------

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.log)

    def count(self) -> int:
        with self._lock:
            return len(self.log)

    def per_id(self) -> Counter[int]:
        return Counter(record.message_id for record in self.received())

    def first_seen(self) -> dict[int, Received]:
        first: dict[int, Received] = {}
        for record in self.received():
            first.setdefault(record.message_id, record)
        return first

    # -- delivery reports --------------------------------------------------------------

    def report(self, message_ids: Iterable[int]) -> int:
        """Queue a `delivered` report for each of `message_ids` the carrier received;
        the number queued. `wait_reports()` waits for the platform's answers."""
        first = self.first_seen()
        queued = 0
        for message_id in message_ids:
            record = first.get(message_id)
            if record is None:
                continue  # never reached the carrier: nothing to report
            with self._lock:
                self._reports_pending += 1
            self._reports.put(record)
            queued += 1
        return queued

    def wait_reports(self, timeout: float = 300) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._reports_pending == 0:
                    return True
            time.sleep(0.1)
        return False

    def _reporter(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while (record := self._reports.get()) is not None:
            url = (
                record.dlr_url.replace("%d", "1")
                .replace("%A", "ACK%2F")
                .replace("%T", str(int(record.at)))
            )
            parts = urlsplit(url)
            status = 0
            # As Kannel is configured here (http-request-retry 5, http-queue-delay 1 s): a
            # report that got no answer, or a 5xx, is sent again.
            for attempt in range(REPORT_RETRIES + 1):
                if attempt:
                    time.sleep(REPORT_RETRY_DELAY)
                try:
                    if connection is None:
                        connection = http.client.HTTPConnection(
                            parts.hostname, parts.port or 80, timeout=30
                        )
                    connection.request("GET", f"{parts.path}?{parts.query}")
                    answer = connection.getresponse()
                    answer.read()
                    status = answer.status
                except (http.client.HTTPException, OSError):
                    if connection is not None:
                        connection.close()
                    connection = None
                    status = 0
                with self._lock:
                    self.report_attempts[status] += 1
                if 0 < status < 500:
                    break
            with self._lock:
                self.reports_answered[status] += 1
                self._reports_pending -= 1
        if connection is not None:
            connection.close()
