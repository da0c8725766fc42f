"""Customer callbacks: registered through the API or the API page, emitted by delivery
reports and replies only for accounts that listen (no query on the hot path otherwise),
POSTed signed outside any transaction, retried with backoff, the last result shown."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Account
from blacklist.models import GatewayConnection, GatewayKind, InboundMessage
from blacklist.services import assign_unattributed, receive_inbound
from blacklist.signing import check
from callbacks import selectors
from callbacks.models import CallbackEndpoint, CallbackEvent
from callbacks.services import callback_create, callback_update
from callbacks.tasks import backoff
from campaigns.models import LastSent, Message, MessageState
from campaigns.reports import apply_report
from tests.api.conftest import client_with_key, error_of, key_for


class Receiver:
    """A customer's server on 127.0.0.1: records each call, answers the next status."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def event(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.calls[index]["body"])


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.SMS_CALLBACK_ALLOW_PRIVATE = True  # the test's server is on the loopback
    settings.SMS_CALLBACK_RETRIES = 3
    server = Receiver()
    yield server
    server.server.shutdown()


def sent_message(account: Account, number: str = "+33612345678") -> Message:
    return Message.objects.create(
        account=account,
        phone_number=number,
        region="FR",
        text="Promo STOP 36034",
        segments=1,
        credits=1,
        state=MessageState.SENT,
        gateway="kannel",
        gateway_id="k-1",
    )


# -- registering ----------------------------------------------------------------------------


def test_a_callback_is_registered_with_its_secret_shown_once(
    api_a: APIClient, api_b: APIClient
) -> None:
    created = api_a.post(
        "/api/v1/callbacks", {"url": "https://shop.example/events", "events": ["message.status"]}
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["secret"].endswith(body["secret_hint"]) is False  # the hint is its start
    url = f"/api/v1/callbacks/{body['id']}"
    read = api_a.get(url).json()
    assert "secret" not in read and read["last_status"] is None
    assert CallbackEndpoint.objects.get().signing_secret != body["secret"]  # sealed
    assert api_b.get(url).status_code == 404
    assert api_b.patch(url, {"active": False}).status_code == 404
    assert api_b.delete(url).status_code == 404
    assert api_b.get("/api/v1/callbacks").json()["results"] == []
    assert api_a.patch(url, {"active": False}).json()["active"] is False
    assert api_a.delete(url).status_code == 204


@pytest.mark.parametrize(
    "payload",
    [
        {"url": "ftp://shop.example/x", "events": ["inbound"]},
        {"url": "https://shop.example/x", "events": []},
        {"url": "https://shop.example/x", "events": ["everything"]},
    ],
)
def test_a_bad_callback_is_refused(api_a: APIClient, payload: dict[str, Any]) -> None:
    response = api_a.post("/api/v1/callbacks", payload)

    assert response.status_code == 422
    assert error_of(response)["code"] in {"invalid", "invalid_callback"}
    assert not CallbackEndpoint.objects.exists()


def test_the_api_page_adds_a_url_shows_its_secret_once_and_its_last_result(
    client_a: Client, account_a: Account
) -> None:
    added = client_a.post(
        "/account/api/callbacks/",
        {"url": "https://shop.example/events", "events": ["message.status", "inbound"]},
    )

    assert added.status_code == 200
    secret = added.context["new_callback_secret"]
    assert secret in added.content.decode()
    endpoint = CallbackEndpoint.objects.get(account=account_a)
    CallbackEndpoint.objects.filter(pk=endpoint.pk).update(
        last_status=503, last_error="HTTP 503 Service Unavailable", last_at="2026-11-30T10:00Z"
    )
    page = client_a.get("/account/api/").content.decode()
    assert secret not in page
    assert "https://shop.example/events" in page and "HTTP 503 Service Unavailable" in page


def test_another_accounts_callback_cannot_be_removed_from_the_page(
    client_b: Client, account_a: Account
) -> None:
    endpoint, _secret = callback_create(
        account=account_a, url="https://a.example/", events=[CallbackEvent.INBOUND]
    )

    assert client_b.post(f"/account/api/callbacks/{endpoint.pk}/remove/").status_code == 404
    assert CallbackEndpoint.objects.filter(pk=endpoint.pk).exists()


# -- emitting and delivering ------------------------------------------------------------------


def test_a_delivery_report_is_posted_signed_to_the_accounts_url(
    account_a: Account, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint, secret = callback_create(
        account=account_a, url=receiver.url, events=[CallbackEvent.MESSAGE_STATUS]
    )
    message = sent_message(account_a)

    with django_capture_on_commit_callbacks(execute=True):
        apply_report(gateway="kannel", message_ref=str(message.pk), status="delivered", raw="1")

    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    headers = call["headers"]
    assert (
        check(secret, headers["X-Signature-Timestamp"], headers["X-Signature"], call["body"])
        is None
    )
    event = receiver.event()
    assert event["type"] == "message.status" == headers["X-Event-Type"]
    assert event["id"] == headers["X-Event-Id"]
    assert event["data"]["message_id"] == message.pk
    assert (event["data"]["to"], event["data"]["status"]) == ("+33612345678", "delivered")
    endpoint.refresh_from_db()
    assert (endpoint.last_status, endpoint.last_error) == (200, "")
    assert endpoint.last_at is not None


def test_a_stop_reply_is_posted_to_the_inbound_url(
    account_a: Account, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    callback_create(account=account_a, url=receiver.url, events=[CallbackEvent.INBOUND])
    message = sent_message(account_a)
    LastSent.objects.create(
        phone_number=message.phone_number,
        account=account_a,
        sent_at="2026-11-30T10:00Z",
        marketing_at="2026-11-30T10:00Z",
        message_id=message.pk,
    )
    gateway = GatewayConnection.objects.create(
        name="kannel", kind=GatewayKind.KANNEL, secret_hash="x" * 64, secret_hint="x"
    )

    with django_capture_on_commit_callbacks(execute=True):
        receive_inbound(
            connection=gateway,
            carrier_id="mo-1",
            sender=message.phone_number,
            receiver="36034",
            text="STOP",
        )

    event = receiver.event()
    assert event["type"] == "inbound"
    data = event["data"]
    assert (data["from"], data["text"], data["intent"]) == ("+33612345678", "STOP", "stop")
    assert (data["outcome"], data["message_id"]) == ("blacklisted", message.pk)


def test_a_stop_support_staff_assign_is_posted_to_the_accounts_inbound_url(
    account_a: Account,
    receiver: Receiver,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    callback_create(account=account_a, url=receiver.url, events=[CallbackEvent.INBOUND])
    gateway = GatewayConnection.objects.create(
        name="kannel", kind=GatewayKind.KANNEL, secret_hash="x" * 64, secret_hint="x"
    )
    with django_capture_on_commit_callbacks(execute=True):  # nobody messaged it: unattributed
        receive_inbound(
            connection=gateway, carrier_id="mo-9", sender="+33699887766", receiver="36034",
            text="STOP",
        )  # fmt: skip
    assert receiver.calls == []
    inbound = InboundMessage.objects.get(carrier_id="mo-9")

    with django_capture_on_commit_callbacks(execute=True):
        assign_unattributed(inbound, account_a, admin_user)

    data = receiver.event()["data"]
    assert (data["inbound_id"], data["from"], data["outcome"]) == (
        inbound.pk, "+33699887766", "blacklisted",
    )  # fmt: skip


def test_an_account_without_callbacks_costs_no_query_and_queues_nothing(
    account_a: Account, account_b: Account, django_capture_on_commit_callbacks: Any
) -> None:
    callback_create(account=account_b, url="https://b.example/", events=["message.status"])
    selectors.listeners(CallbackEvent.MESSAGE_STATUS, account_a.pk)  # this process read them
    message = sent_message(account_a)

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks() as queued,
    ):
        apply_report(gateway="kannel", message_ref=str(message.pk), status="delivered", raw="1")

    assert queued == []
    assert not [q for q in queries.captured_queries if "callbacks_" in q["sql"]]


def test_a_failing_url_is_retried_and_its_last_result_kept(
    account_a: Account, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint, _secret = callback_create(
        account=account_a, url=receiver.url, events=[CallbackEvent.MESSAGE_STATUS]
    )
    receiver.statuses = [500, 503]

    with django_capture_on_commit_callbacks(execute=True):
        apply_report(
            gateway="kannel",
            message_ref=str(sent_message(account_a).pk),
            status="failed",
            raw="2",
        )

    assert len(receiver.calls) == 3  # eager tasks retry at once; workers wait backoff()
    assert len({call["body"] for call in receiver.calls}) == 1  # the same event each time
    endpoint.refresh_from_db()
    assert endpoint.last_status == 200

    receiver.statuses = [500] * 10
    with django_capture_on_commit_callbacks(execute=True):
        apply_report(
            gateway="kannel",
            message_ref=str(sent_message(account_a, "+33798765432").pk),
            status="delivered",
            raw="1",
        )
    assert len(receiver.calls) == 3 + 4  # the first try and SMS_CALLBACK_RETRIES more
    endpoint.refresh_from_db()
    assert (endpoint.last_status, endpoint.last_error) == (500, "HTTP 500 Internal Server Error")


def test_the_backoff_doubles_from_thirty_seconds_up_to_an_hour() -> None:
    assert [backoff(n) for n in range(8)] == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_a_paused_url_gets_nothing_and_a_private_address_is_refused(
    account_a: Account, receiver: Receiver, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint, _secret = callback_create(
        account=account_a, url=receiver.url, events=[CallbackEvent.MESSAGE_STATUS]
    )
    callback_update(endpoint=endpoint, active=False)
    with django_capture_on_commit_callbacks(execute=True):
        apply_report(
            gateway="kannel",
            message_ref=str(sent_message(account_a).pk),
            status="delivered",
            raw="1",
        )
    assert receiver.calls == []

    settings.SMS_CALLBACK_ALLOW_PRIVATE = False
    callback_update(endpoint=endpoint, active=True)
    with django_capture_on_commit_callbacks(execute=True):
        apply_report(
            gateway="kannel",
            message_ref=str(sent_message(account_a, "+33798765432").pk),
            status="delivered",
            raw="1",
        )
    assert receiver.calls == []
    endpoint.refresh_from_db()
    assert endpoint.last_error == "refused: a private address"


def test_a_key_of_the_account_can_use_every_endpoint_it_registers(account_a: Account) -> None:
    api = client_with_key(key_for(account_a, "events"))

    assert api.get("/api/v1/callbacks").status_code == 200
