"""Kannel's own ceiling: how fast smsbox's sendsms accepts, and how fast bearerbox hands
the messages to the SMSC (fakesmsc), with no platform code in the way. Prints figures.

    python bench/kannel_ceiling.py                      # 20,000 messages per client
    python bench/kannel_ceiling.py --messages 5000 --clients asyncio:32 threads:16

Each client gets a fresh Kannel (tests/kannel_harness.py) and sends --messages GETs, one
SMS each (GSM text, one part, a sender, distinct numbers) as fast as it can:

- threads:N   N threads, one kept-alive http.client connection each (the platform's way)
- asyncio:N   N kept-alive connections on one event loop (a minimal HTTP/1.1 client)
- procs:N     N/16 processes running asyncio:16 each (the client on several CPUs)
- close:N     N threads, a new connection per request (urllib: "Connection: close")

Figures: sendsms requests/s (first request to last answer), whether the connections were
kept alive (connections opened vs requests), and how fast fakesmsc received the messages
(bearerbox to the SMSC: first request to last message in fakesmsc's output).

--dlr adds dlr-mask=31 with a dlr-url on a recorder in a separate process (two calls per
message come back: 8 then 1), to show what the reports cost smsbox.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.kannel_harness import KannelMissing, KannelRun, running_kannel

TEXT = "Soldes d'hiver : -30 % sur tout le magasin ce week-end avec le code HIVER30 STOP 36034"
# HTTP pipelining is no option: smsbox answers the first of the requests sent back to back
# on a connection and drops the others without a word (nor an SMS).


@dataclass
class Outcome:
    answers: dict[int, int] = field(default_factory=dict)  # HTTP status -> count
    connections: int = 0
    closed_by_server: int = 0
    errors: int = 0
    first_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answer(self, status: int) -> None:
        with self.lock:
            self.answers[status] = self.answers.get(status, 0) + 1

    def connected(self) -> None:
        with self.lock:
            self.connections += 1

    def error(self, error: BaseException) -> None:
        with self.lock:
            self.errors += 1
            self.first_error = self.first_error or repr(error)


def request_paths(run: KannelRun, count: int, dlr_url: str | None) -> list[str]:
    path = urlsplit(run.sendsms_url).path
    paths = []
    for index in range(count):
        params = run.sendsms_params(f"+3361{index:08d}", TEXT, sender="BOUTIQUE")
        if dlr_url:
            params["dlr-mask"] = "31"
            params["dlr-url"] = f"{dlr_url}?id={index}&type=%d"
        paths.append(f"{path}?{urlencode(params, quote_via=quote)}")
    return paths


# -- the clients --------------------------------------------------------------------------


def send_threads(run: KannelRun, paths: list[str], connections: int) -> Outcome:
    """N threads, each with one kept-alive http.client connection."""
    outcome = Outcome()
    parts = urlsplit(run.sendsms_url)
    work = iter(paths)
    take = threading.Lock()

    def worker() -> None:
        conn: http.client.HTTPConnection | None = None
        while True:
            with take:
                path = next(work, None)
            if path is None:
                break
            for _attempt in (1, 2):
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                    outcome.connected()
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as error:
                    conn.close()
                    conn = None
                    outcome.error(error)
                    continue
                outcome.answer(response.status)
                if response.will_close:
                    outcome.closed_by_server += 1
                    conn.close()
                    conn = None
                break
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def send_close(run: KannelRun, paths: list[str], connections: int) -> Outcome:
    """N threads with urllib: a new connection for every request."""
    outcome = Outcome()
    base = f"{urlsplit(run.sendsms_url).scheme}://{urlsplit(run.sendsms_url).netloc}"
    work = iter(paths)
    take = threading.Lock()

    def worker() -> None:
        while True:
            with take:
                path = next(work, None)
            if path is None:
                break
            outcome.connected()
            try:
                with urllib.request.urlopen(base + path, timeout=30) as response:  # noqa: S310
                    response.read()
                    outcome.answer(response.status)
            except urllib.error.HTTPError as error:
                outcome.answer(error.code)
            except OSError as error:
                outcome.error(error)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
    if length:
        await reader.readexactly(length)
    return status, close


async def _asyncio_clients(host: str, port: int, paths: list[str], connections: int) -> Outcome:
    outcome = Outcome()
    work = iter(paths)

    async def worker() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        for path in work:
            for _attempt in (1, 2):
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                    outcome.connected()
                try:
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
                    status, close = await asyncio.wait_for(_read_response(reader), 30)
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
                    outcome.error(error)
                    writer.close()
                    reader = writer = None
                    continue
                outcome.answer(status)
                if close:
                    outcome.closed_by_server += 1
                    writer.close()
                    reader = writer = None
                break
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return outcome


def send_asyncio(run: KannelRun, paths: list[str], connections: int) -> Outcome:
    parts = urlsplit(run.sendsms_url)
    return asyncio.run(_asyncio_clients(parts.hostname, parts.port, paths, connections))


def _process_client(url: str, paths: list[str], connections: int) -> Outcome:
    parts = urlsplit(url)
    outcome = asyncio.run(_asyncio_clients(parts.hostname, parts.port, paths, connections))
    outcome.lock = None  # type: ignore[assignment] (not picklable, not needed any more)
    return outcome


def send_processes(run: KannelRun, paths: list[str], connections: int) -> Outcome:
    """asyncio:16 in each of connections/16 processes, the paths shared out."""
    count = max(1, connections // 16)
    shares = [paths[index::count] for index in range(count)]
    with multiprocessing.Pool(count) as pool:
        outcomes = pool.starmap(_process_client, [(run.sendsms_url, share, 16) for share in shares])
    total = Outcome()
    for outcome in outcomes:
        for status, number in outcome.answers.items():
            total.answers[status] = total.answers.get(status, 0) + number
        total.connections += outcome.connections
        total.closed_by_server += outcome.closed_by_server
        total.errors += outcome.errors
        total.first_error = total.first_error or outcome.first_error
    return total


CLIENTS = {
    "threads": send_threads,
    "asyncio": send_asyncio,
    "procs": lambda run, paths, n: send_processes(run, paths, n),
    "close": send_close,
}


# -- a dlr-url target in its own process ---------------------------------------------------


def _dlr_process(url: Connection, calls: Synchronized, stop: EventType) -> None:
    """A minimal kept-alive HTTP/1.1 server that counts GETs: as cheap as a target gets."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                calls.value += 1  # one process, one thread: no lock needed
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        url.send(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/dlr")
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.close()

    asyncio.run(serve())


class DlrTarget:
    """The dlr-url target, in a process of its own (not competing for the client's GIL)."""

    def __init__(self) -> None:
        parent, child = multiprocessing.Pipe()
        self.calls = multiprocessing.Value("q", 0, lock=False)
        self.stop = multiprocessing.Event()
        self.process = multiprocessing.Process(
            target=_dlr_process, args=(child, self.calls, self.stop), daemon=True
        )
        self.process.start()
        self.url = parent.recv()

    def count(self) -> int:
        return self.calls.value

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()


# -- one measure --------------------------------------------------------------------------


@dataclass
class Measure:
    client: str
    sent: int
    seconds: float
    outcome: Outcome
    delivered: int
    delivered_seconds: float
    reports: int = 0
    reports_seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used during the run
    cpu_window: float = 0.0  # seconds from the first request to the CPU reading


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def measure(
    spec: str, count: int, workdir: Path, log_level: int, dlr: bool, access_log: bool
) -> Measure:
    name, _, connections = spec.partition(":")
    client = CLIENTS[name]
    target = DlrTarget() if dlr else None
    try:
        with running_kannel(workdir, log_level=log_level, access_log=access_log) as run:
            paths = request_paths(run, count, target.url if target else None)
            pids = {name: proc.pid for name, proc in run.processes.items()}
            if target:
                pids["dlr-url target"] = target.process.pid
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            cpu_before["client"] = client_cpu_seconds()
            start = time.perf_counter()
            outcome = client(run, paths, int(connections or 16))
            seconds = time.perf_counter() - start
            accepted = outcome.answers.get(202, 0)
            delivered = run.wait_parts(accepted, timeout=max(60.0, count / 200))
            delivered_seconds = time.perf_counter() - start
            result = Measure(spec, count, seconds, outcome, delivered, delivered_seconds)
            if target:
                deadline = time.monotonic() + max(60.0, count / 100)
                while target.count() < 2 * accepted and time.monotonic() < deadline:
                    time.sleep(0.02)
                result.reports = target.count()
                result.reports_seconds = time.perf_counter() - start
            result.cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
            result.cpu["client"] = client_cpu_seconds() - cpu_before["client"]
            result.cpu_window = time.perf_counter() - start
            return result
    finally:
        if target:
            target.close()


def report(result: Measure) -> None:
    out = result.outcome
    accepted = out.answers.get(202, 0)
    kept = "yes" if out.connections < result.sent / 2 else "no"
    print(
        f"{result.client:>12}: {result.sent / result.seconds:8,.0f} sendsms/s "
        f"({accepted:,} accepted in {result.seconds:.2f} s; answers {dict(out.answers)}"
        f"{f'; {out.errors} errors, first {out.first_error}' if out.errors else ''})"
    )
    print(
        f"{'':>12}  keep-alive: {kept} ({out.connections:,} connections for "
        f"{result.sent:,} requests, {out.closed_by_server:,} closed by smsbox)"
    )
    print(
        f"{'':>12}  fakesmsc: {result.delivered:,} received, "
        f"{result.delivered / result.delivered_seconds:8,.0f} msg/s "
        f"(last one {result.delivered_seconds - result.seconds:.2f} s after the last answer)"
    )
    cpu = ", ".join(f"{name} {seconds:.2f}" for name, seconds in result.cpu.items())
    print(f"{'':>12}  CPU seconds: {cpu} (in {result.cpu_window:.2f} s)")
    if result.reports_seconds:
        print(
            f"{'':>12}  dlr-url: {result.reports:,} calls, "
            f"{result.reports / result.reports_seconds:8,.0f} calls/s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument(
        "--clients",
        nargs="+",
        default=["threads:16", "threads:64", "asyncio:16", "asyncio:64", "procs:32", "close:16"],
        help="client:connections, client one of " + ", ".join(CLIENTS),
    )
    parser.add_argument("--log-level", type=int, default=2, help="Kannel's (0 debug .. 4)")
    parser.add_argument("--dlr", action="store_true", help="ask for reports (dlr-mask=31)")
    parser.add_argument(
        "--access-log", action="store_true", help="bearerbox's and smsbox's access logs on"
    )
    args = parser.parse_args(argv)
    for spec in args.clients:
        if spec.partition(":")[0] not in CLIENTS:
            parser.error(f"unknown client {spec!r}")

    print(
        f"Kannel's sendsms ceiling: {args.messages:,} messages per client, "
        f"log-level {args.log_level}, access logs {'on' if args.access_log else 'off'}, "
        f"reports {'on' if args.dlr else 'off'}, "
        f"{os.cpu_count()} CPUs"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="kannel-ceiling-") as tmp:
        for index, spec in enumerate(args.clients):
            try:
                result = measure(
                    spec,
                    args.messages,
                    Path(tmp) / str(index),
                    args.log_level,
                    args.dlr,
                    args.access_log,
                )
            except KannelMissing as error:
                print(error)
                return 1
            report(result)
            results.append(result)
    best = max(results, key=lambda r: r.sent / r.seconds)
    print(
        f"\nbest: {best.client} at {best.sent / best.seconds:,.0f} sendsms/s; fakesmsc "
        f"received at {best.delivered / best.delivered_seconds:,.0f} msg/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
