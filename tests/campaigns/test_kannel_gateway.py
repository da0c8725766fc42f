"""The Kannel gateway's HTTP client, against a small sendsms stand-in whose misbehaviour
the test chooses (the real Kannel is in tests/e2e): answers, refusals, kept-alive
connections, a connection Kannel closed while idle, and an answer that never comes."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from campaigns.gateways import OutgoingSms
from campaigns.gateways.kannel import KannelGateway


class Sendsms(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: Counter[str] = Counter()
        self.queries: list[dict[str, str]] = []
        self.connections = 0
        self.idle_timeout: float | None = None  # smsbox closing idle connections
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/cgi-bin/sendsms"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as smsbox
    disable_nagle_algorithm = True
    server: Sendsms

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
        to = query["to"]
        with self.server.lock:
            self.server.requests[to] += 1
            self.server.queries.append(query)
        if to.endswith("drop"):  # the request arrives, the answer never leaves
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if to.endswith("refuse"):
            self.answer(400, "Invalid phone number")
        elif to.endswith("close"):
            self.answer(202, "0: Accepted for delivery", close=True)
        else:
            self.answer(202, "0: Accepted for delivery")

    def answer(self, status: int, body: str, close: bool = False) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def sendsms() -> Iterator[Sendsms]:
    server = Sendsms()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def gateway(sendsms: Sendsms) -> Iterator[KannelGateway]:
    gateway = KannelGateway(
        sendsms_url=sendsms.url,
        username="platform",
        password="s3cret",
        report_url="https://sms.example/webhooks/kannel/report/?secret=k",
        connections=4,
    )
    yield gateway
    gateway.close()


def sms(number: int, to: str | None = None, text: str = "Bonjour STOP 36034") -> OutgoingSms:
    return OutgoingSms(number, to or f"+336{number:08d}", "BOUTIQUE", text, False)


def test_each_message_is_one_request_with_the_reports_asked(
    gateway: KannelGateway, sendsms: Sendsms
) -> None:
    results = gateway.send_batch(
        [sms(1), OutgoingSms(2, "+447400123456", "", "Café ☕ 😀 stop.example/x", True)]
    )

    assert [(r.message_id, r.accepted, r.gateway_id) for r in results] == [
        (1, True, "1"),
        (2, True, "2"),
    ]
    by_to = {query["to"]: query for query in sendsms.queries}
    second, first = by_to["+33600000001"], by_to["+447400123456"]
    assert second["text"] == "Bonjour STOP 36034"
    assert second["from"] == "BOUTIQUE"
    assert second["coding"] == "0"
    assert first["text"] == "Café ☕ 😀 stop.example/x"
    assert (first["coding"], first["charset"]) == ("2", "UTF-8")
    assert "from" not in first  # Kannel's global sender
    assert first["dlr-mask"] == "31"
    assert first["dlr-url"] == (
        "https://sms.example/webhooks/kannel/report/?secret=k&id=2&type=%d&answer=%A&ts=%T"
    )


def test_connections_are_kept_alive_across_batches(
    gateway: KannelGateway, sendsms: Sendsms
) -> None:
    for batch in range(5):
        results = gateway.send_batch([sms(batch * 100 + n) for n in range(100)])
        assert all(result.accepted for result in results)

    assert sum(sendsms.requests.values()) == 500
    assert sendsms.connections <= 4


def test_a_refusal_is_a_rejection_with_kannels_reason(gateway: KannelGateway) -> None:
    [ok, refused] = gateway.send_batch([sms(1), sms(2, "+336refuse")])

    assert ok.accepted
    assert not refused.accepted and not refused.retry
    assert refused.error == "kannel 400: Invalid phone number"


def test_a_connection_closed_by_kannel_is_replaced_without_losing_a_message(
    gateway: KannelGateway, sendsms: Sendsms
) -> None:
    batch = [sms(n, f"+336{n}close") for n in range(20)] + [sms(n) for n in range(20, 40)]

    results = gateway.send_batch(batch)

    assert all(result.accepted for result in results)
    assert sum(sendsms.requests.values()) == 40
    assert set(sendsms.requests.values()) == {1}


def test_an_answer_that_never_comes_leaves_the_outcome_unknown_and_never_sends_it_again(
    gateway: KannelGateway, sendsms: Sendsms
) -> None:
    results = gateway.send_batch([sms(1, "+336drop"), sms(2), sms(3)])

    lost, *others = results
    assert not lost.accepted and not lost.retry
    assert lost.unknown  # Kannel may have it: dispatch records `unknown`, not failed
    assert lost.error.startswith("kannel: no answer")
    assert all(result.accepted for result in others)
    assert sendsms.requests["+336drop"] == 1  # written once, not retried


def test_connections_kannel_closed_while_idle_are_replaced(
    gateway: KannelGateway, sendsms: Sendsms
) -> None:
    sendsms.idle_timeout = 0.2
    assert all(result.accepted for result in gateway.send_batch([sms(n) for n in range(8)]))
    opened = sendsms.connections
    time.sleep(0.6)  # smsbox closes every idle connection

    results = gateway.send_batch([sms(n) for n in range(8, 16)])

    assert all(result.accepted for result in results)
    assert sum(sendsms.requests.values()) == 16
    assert sendsms.connections > opened


def test_kannel_down_means_nothing_sent_and_the_messages_queued_again(sendsms: Sendsms) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = KannelGateway(
        sendsms_url=f"http://127.0.0.1:{port}/cgi-bin/sendsms",
        username="u",
        password="p",
        report_url="",
    )
    try:
        results = down.send_batch([sms(1), sms(2)])
    finally:
        down.close()

    assert all(not result.accepted and result.retry for result in results)
    assert results[0].error.startswith("kannel unreachable")
