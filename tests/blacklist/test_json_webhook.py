"""The signed JSON inbound webhook: a valid signature passes; one changed character in
the body, the timestamp or the URL, a missing header, a timestamp outside five minutes
either way, a rotated secret: 401/403 and nothing written. Readable errors once
authenticated; a carrier's retry changes nothing."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from blacklist.models import (
    BlacklistEntry,
    GatewayConnection,
    GatewayKind,
    InboundMessage,
    RejectedInbound,
)
from blacklist.services import connection_create, connection_rotate
from blacklist.signing import sign
from tests.blacklist.test_inbound import sent_message
from tests.builders import make_account

NUMBER = "+33612345678"


@pytest.fixture
def carrier(db: Any) -> tuple[GatewayConnection, str]:
    return connection_create(name="sinch", kind=GatewayKind.JSON)


def body(**fields: str) -> bytes:
    payload = {"id": "c-1", "from": NUMBER, "to": "36034", "text": "STOP", **fields}
    return json.dumps(payload).encode()


def post(
    client: Client,
    secret: str,
    data: bytes,
    *,
    name: str = "sinch",
    at: float | None = None,
    signed: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    timestamp = str(int(at if at is not None else time.time()))
    signature = sign(secret, timestamp, signed if signed is not None else data)
    sent = {"X-Signature-Timestamp": timestamp, "X-Signature": signature}
    sent.update(headers or {})
    return client.post(
        reverse("json-inbound", args=[name]),
        data=data,
        content_type="application/json",
        headers={key: value for key, value in sent.items() if value is not None},
    )


def nothing_written() -> bool:
    return not InboundMessage.objects.exists() and not RejectedInbound.objects.exists()


def test_a_signed_stop_is_applied_once(
    client: Client, carrier: Any, django_capture_on_commit_callbacks: Any
) -> None:
    account = make_account(slug="shop", credits=5)
    sent_message(account)
    _connection, secret = carrier

    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, secret, body())
        again = post(client, secret, body())

    assert (first.status_code, again.status_code) == (200, 200)
    assert InboundMessage.objects.get().carrier_id == "c-1"
    assert BlacklistEntry.objects.get().account == account
    assert GatewayConnection.objects.get().signing_secret.find(secret) == -1  # sealed


@pytest.mark.parametrize(
    "tamper",
    [
        "body",
        "timestamp",
        "signature",
        "url",
        "missing-signature",
        "missing-timestamp",
        "too-old",
        "from-the-future",
        "wrong-secret",
    ],
)
def test_a_request_that_is_not_exactly_what_was_signed_is_refused(
    client: Client, carrier: Any, tamper: str
) -> None:
    _connection, secret = carrier
    data = body()
    now = time.time()
    if tamper == "body":
        answer = post(client, secret, data.replace(b"STOP", b"STOq"), signed=data)
    elif tamper == "timestamp":
        signature = sign(secret, str(int(now)), data)
        answer = post(
            client, secret, data,
            headers={"X-Signature-Timestamp": str(int(now) + 1), "X-Signature": signature},
        )  # fmt: skip
    elif tamper == "signature":
        good = sign(secret, str(int(now)), data)
        bad = ("0" if good[0] != "0" else "1") + good[1:]
        answer = post(client, secret, data, at=now, headers={"X-Signature": bad})
    elif tamper == "url":
        connection_create(name="sinch2", kind=GatewayKind.JSON)
        answer = post(client, secret, data, name="sinch2")
    elif tamper == "missing-signature":
        answer = post(client, secret, data, headers={"X-Signature": None})
    elif tamper == "missing-timestamp":
        answer = post(client, secret, data, headers={"X-Signature-Timestamp": None})
    elif tamper == "too-old":
        answer = post(client, secret, data, at=now - 301)
    elif tamper == "from-the-future":
        answer = post(client, secret, data, at=now + 301)
    else:
        answer = post(client, "not-the-secret", data)

    expected = 401 if tamper.startswith("missing") else 403
    assert answer.status_code == expected
    assert nothing_written()


def test_within_five_minutes_either_way_passes(client: Client, carrier: Any) -> None:
    _connection, secret = carrier
    now = time.time()

    assert post(client, secret, body(id="early"), at=now - 290).status_code == 200
    assert post(client, secret, body(id="late"), at=now + 290).status_code == 200


def test_a_rotated_secret_stops_working(client: Client, carrier: Any) -> None:
    connection, old = carrier
    new = connection_rotate(connection)

    assert post(client, old, body()).status_code == 403
    assert post(client, new, body()).status_code == 200


def test_a_kannel_token_is_no_json_connection(client: Client, db: Any) -> None:
    _kannel, token = connection_create(name="kannel", kind=GatewayKind.KANNEL)

    assert post(client, token, body(), name="kannel").status_code == 403
    assert nothing_written()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "body is not JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (body(id=""), "missing id"),
        (body(**{"from": "hello"}), "unreadable sender number"),
        (json.dumps({"id": 5, "from": NUMBER, "text": "x"}).encode(), "id must be a string"),
        (body(text="x" * 39_016), "text longer than 39015"),
    ],
)
def test_authenticated_but_unreadable_is_400_and_kept(
    client: Client, carrier: Any, data: bytes, reason: str
) -> None:
    _connection, secret = carrier

    answer = post(client, secret, data)

    assert answer.status_code == 400
    assert reason in answer.content.decode()
    assert reason in RejectedInbound.objects.get().reason
    assert not InboundMessage.objects.exists()


def test_the_signing_window_is_five_minutes() -> None:
    from blacklist.signing import SIGNATURE_WINDOW_SECONDS, check

    assert SIGNATURE_WINDOW_SECONDS == timedelta(minutes=5).total_seconds()
    assert check("s", "100", sign("s", "100", b"x"), b"x", now=400) is None
    assert check("s", "100", sign("s", "100", b"x"), b"x", now=401) is not None
