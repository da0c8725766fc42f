"""The fault scenarios' carrier (faults/carrier.py) against the platform's own Kannel
client: it answers as smsbox does, records every request by platform message id, cuts
the chosen ones unanswered (the client must call them unknown, not failed), holds and
releases its answers, and calls the dlr-url back."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from campaigns.gateways import OutgoingSms
from campaigns.gateways.kannel import KannelGateway
from faults.carrier import Carrier


def client(carrier: Carrier, report_url: str = "http://127.0.0.1:9/r?secret=s") -> KannelGateway:
    return KannelGateway(
        sendsms_url=carrier.url, username="u", password="p", report_url=report_url, connections=4
    )


def messages(ids: range) -> list[OutgoingSms]:
    return [OutgoingSms(n, f"+4474000{n:05d}", "SHOP", f"Bonjour {n}", False) for n in ids]


def test_records_each_request_and_answers_like_smsbox() -> None:
    with Carrier() as carrier:
        gateway = client(carrier)
        try:
            results = gateway.send_batch(messages(range(1, 301)))
        finally:
            gateway.close()
        assert all(result.accepted for result in results)
        assert carrier.per_id() == {n: 1 for n in range(1, 301)}
        assert {record.to for record in carrier.received()} == {
            f"+4474000{n:05d}" for n in range(1, 301)
        }


def test_a_dropped_answer_is_unknown_to_the_client_and_received_by_the_carrier() -> None:
    with Carrier(drop={7, 8, 50}) as carrier:
        gateway = client(carrier)
        try:
            results = {
                result.message_id: result for result in gateway.send_batch(messages(range(1, 101)))
            }
        finally:
            gateway.close()
        assert {n for n, result in results.items() if result.unknown} == {7, 8, 50}
        assert not any(results[n].accepted or results[n].retry for n in (7, 8, 50))
        assert sum(result.accepted for result in results.values()) == 97
        assert carrier.per_id() == {n: 1 for n in range(1, 101)}
        assert carrier.dropped == 3


def test_held_answers_wait_for_release() -> None:
    with Carrier() as carrier:
        gateway = client(carrier)
        carrier.hold()
        done: list[object] = []
        thread = threading.Thread(
            target=lambda: done.append(gateway.send_batch(messages(range(1, 5))))
        )
        thread.start()
        thread.join(timeout=1)
        assert not done and carrier.count() == 4  # received, not answered
        assert carrier.release() == 4
        thread.join(timeout=10)
        gateway.close()
        assert [result.accepted for result in done[0]] == [True] * 4  # type: ignore[attr-defined]


def test_reports_go_to_the_dlr_url_of_received_messages_only() -> None:
    calls: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            calls.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with Carrier() as carrier:
            url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/kannel/report/?secret=s"
            gateway = client(carrier, url)
            try:
                gateway.send_batch(messages(range(1, 11)))
            finally:
                gateway.close()
            assert carrier.report([3, 4, 999]) == 2  # 999 never reached it
            assert carrier.wait_reports(timeout=10)
            assert carrier.reports_answered == {200: 2}
    finally:
        server.shutdown()
    assert sorted(call.split("id=")[1].split("&")[0] for call in calls) == ["3", "4"]
    assert all("&type=1&" in call and call.startswith("/webhooks/kannel/report/") for call in calls)
