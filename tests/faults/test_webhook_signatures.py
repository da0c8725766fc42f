"""Item 13: the carriers' webhooks accept exactly what was signed, and nothing else.

The JSON inbound webhook (HMAC-SHA256 over "<timestamp>." + body), Kannel's inbound
token (in the URL) and Kannel's delivery-report secret (a parameter): a valid request
passes; one changed character anywhere in what is authenticated (every position of the
body, the timestamp, the signature, the connection's name in the URL, the token, the
secret), a missing header, a timestamp outside the window either way, all answer 403
(401 for a missing signature header, as the README says) and write nothing. The
comparisons are made by `hmac.compare_digest`, also for a signature of the wrong length
or with characters that are not hexadecimal.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from blacklist.models import BlacklistEntry, GatewayKind, InboundMessage
from blacklist.services import connection_create
from blacklist.signing import SIGNATURE_WINDOW_SECONDS, sign
from campaigns.models import DeliveryReport, Message, MessageState
from tests.blacklist.test_inbound import sent_message
from tests.builders import make_account
from tests.faults.writes import no_database_write

pytestmark = pytest.mark.django_db

NUMBER = "+33612345678"
REPORT_SECRET = "dlr-secret-for-tests-0123456789"


def changed(text: str, index: int) -> str:
    """`text` with the character at `index` replaced by another of the same kind (a
    letter by a letter, a digit by a digit), so only the value changes, not the shape."""
    old = text[index]
    if old.isdigit():
        new = "7" if old != "7" else "3"
    elif old.isalpha():
        new = ("b" if old.lower() != "b" else "c") if old.islower() else "Q" if old != "Q" else "R"
    else:
        new = "x"
    return text[:index] + new + text[index + 1 :]


def every_change(text: str) -> Iterator[str]:
    for index in range(len(text)):
        yield changed(text, index)


@pytest.fixture
def carrier() -> tuple[Any, str]:
    return connection_create(name="sinch", kind=GatewayKind.JSON)


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)  # a crash must show as a status here


def payload(carrier_id: str = "c-1") -> bytes:
    return json.dumps({"id": carrier_id, "from": NUMBER, "to": "36034", "text": "STOP"}).encode()


def post_json(
    client: Client,
    *,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    name: str = "sinch",
) -> Any:
    headers = {}
    if timestamp is not None:
        headers["X-Signature-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Signature"] = signature
    return client.post(
        f"/webhooks/inbound/{name}/", data=body, content_type="application/json", headers=headers
    )


def signed(secret: str, body: bytes, *, at: float | None = None) -> tuple[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return timestamp, sign(secret, timestamp, body)


def refused(answer: Any, status: int = 403) -> bool:
    return answer.status_code == status


def test_a_valid_signature_passes_and_the_stop_is_applied(client: Client, carrier: Any) -> None:
    account = make_account(slug="shop", credits=5)
    sent_message(account)
    _connection, secret = carrier
    timestamp, signature = signed(secret, payload())

    answer = post_json(client, body=payload(), timestamp=timestamp, signature=signature)

    assert answer.status_code == 200
    assert InboundMessage.objects.count() == BlacklistEntry.objects.count() == 1


def test_one_changed_character_anywhere_in_the_body_is_refused(
    client: Client, carrier: Any
) -> None:
    _connection, secret = carrier
    body = payload().decode()
    timestamp, signature = signed(secret, body.encode())

    with no_database_write():
        statuses = {
            post_json(
                client, body=tampered.encode(), timestamp=timestamp, signature=signature
            ).status_code
            for tampered in every_change(body)
        }

    assert statuses == {403}


def test_one_changed_character_in_the_timestamp_or_the_signature_is_refused(
    client: Client, carrier: Any
) -> None:
    _connection, secret = carrier
    body = payload()
    timestamp, signature = signed(secret, body)

    with no_database_write():
        statuses = [
            post_json(client, body=body, timestamp=tampered, signature=signature).status_code
            for tampered in every_change(timestamp)
        ] + [
            post_json(client, body=body, timestamp=timestamp, signature=tampered).status_code
            for tampered in every_change(signature)
        ]

    assert set(statuses) == {403}


@pytest.mark.parametrize(
    "signature",
    [
        "é" * 64,  # not ASCII: hmac.compare_digest refuses to compare such strings
        "ü" + "0" * 63,
        "",
        " ",
        "0",
        "0" * 65,
        "g" * 64,
        "0x" + "0" * 62,
        "\u202e" * 10,
    ],
    ids=["accents", "one-accent", "empty", "space", "short", "long", "not-hex", "0x", "bidi"],
)
def test_a_malformed_signature_is_refused_not_a_crash(
    client: Client, carrier: Any, signature: str
) -> None:
    _connection, secret = carrier
    timestamp, _signature = signed(secret, payload())

    with no_database_write():
        answer = post_json(client, body=payload(), timestamp=timestamp, signature=signature)

    # An empty header counts as missing (401); anything else is a wrong signature.
    assert answer.status_code == (401 if not signature.strip() and not signature else 403)


@pytest.mark.parametrize(
    "timestamp",
    ["", "abc", "-1", "1e9", "١٧٠٠٠٠٠٠٠٠", "9" * 40, "0", " 1700000000"],
    ids=["empty", "letters", "negative", "float", "arabic-digits", "huge", "epoch", "space"],
)
def test_an_unreadable_timestamp_is_refused(client: Client, carrier: Any, timestamp: str) -> None:
    _connection, secret = carrier
    body = payload()

    with no_database_write():
        answer = post_json(
            client, body=body, timestamp=timestamp, signature=sign(secret, timestamp, body)
        )

    assert answer.status_code == (401 if timestamp == "" else 403)


def test_one_changed_character_in_the_connection_name_of_the_url_is_refused(
    client: Client, carrier: Any
) -> None:
    _connection, secret = carrier
    # Other connections exist whose names are one character away: none of them accepts
    # a request signed with this connection's secret.
    connection_create(name="sinci", kind=GatewayKind.JSON)
    connection_create(name="sinch-2", kind=GatewayKind.JSON)
    timestamp, signature = signed(secret, payload())

    with no_database_write():
        statuses = {
            post_json(
                client, body=payload(), timestamp=timestamp, signature=signature, name=name
            ).status_code
            for name in [*every_change("sinch"), "sinch-2", "SINCH", "sinch "]
        }

    assert statuses == {403}


@pytest.mark.parametrize("missing", ["X-Signature", "X-Signature-Timestamp", "both"])
def test_a_missing_header_is_401_and_writes_nothing(
    client: Client, carrier: Any, missing: str
) -> None:
    _connection, secret = carrier
    timestamp, signature = signed(secret, payload())
    if missing in {"X-Signature", "both"}:
        signature = None  # type: ignore[assignment]
    if missing in {"X-Signature-Timestamp", "both"}:
        timestamp = None  # type: ignore[assignment]

    with no_database_write():
        answer = post_json(client, body=payload(), timestamp=timestamp, signature=signature)

    assert answer.status_code == 401


@pytest.mark.parametrize("direction", [-1, 1], ids=["past", "future"])
def test_a_timestamp_outside_the_window_is_refused_either_way(
    client: Client, carrier: Any, direction: int
) -> None:
    _connection, secret = carrier
    at = time.time() + direction * (SIGNATURE_WINDOW_SECONDS + 2)
    timestamp, signature = signed(secret, payload(), at=at)

    with no_database_write():
        answer = post_json(client, body=payload(), timestamp=timestamp, signature=signature)

    assert answer.status_code == 403
    # Just inside the window, the same request is taken.
    timestamp, signature = signed(
        secret, payload(), at=time.time() + direction * (SIGNATURE_WINDOW_SECONDS - 10)
    )
    assert (
        post_json(client, body=payload(), timestamp=timestamp, signature=signature).status_code
        == 200
    )


def test_another_connections_secret_is_refused(client: Client, carrier: Any) -> None:
    _other, other_secret = connection_create(name="other", kind=GatewayKind.JSON)
    timestamp, signature = signed(other_secret, payload())

    with no_database_write():
        answer = post_json(client, body=payload(), timestamp=timestamp, signature=signature)

    assert answer.status_code == 403


# -- Kannel: the token in the get-url, the delivery reports' secret ----------------------


def test_one_changed_character_in_the_kannel_token_is_refused(client: Client) -> None:
    _connection, token = connection_create(name="kannel-orange", kind=GatewayKind.KANNEL)
    params = {"id": "k-1", "from": NUMBER, "to": "36034", "text": "STOP"}

    with no_database_write():
        statuses = {
            client.get(reverse("kannel-inbound", args=[tampered]), params).status_code
            for tampered in [*every_change(token), token[:-1], token + "a", token.upper()]
            if tampered != token
        } | {client.post(reverse("kannel-inbound", args=[changed(token, 0)]), params).status_code}

    assert statuses == {403}
    assert client.get(reverse("kannel-inbound", args=[token]), params).status_code == 200


@pytest.fixture
def report_secret(settings: Any) -> str:
    settings.KANNEL_REPORT_SECRET = REPORT_SECRET
    return REPORT_SECRET


def test_one_changed_character_in_the_delivery_report_secret_is_refused(
    client: Client, report_secret: str, account_a: Any
) -> None:
    message = Message.objects.create(
        account=account_a, phone_number=NUMBER, region="FR", text="Promo STOP 36034",
        segments=1, credits=1, state=MessageState.SENT, gateway="kannel",
    )  # fmt: skip
    url = reverse("kannel-report")
    params = {"id": str(message.pk), "type": "1", "answer": "ACK/"}

    with no_database_write():
        statuses = [
            client.get(url, {**params, "secret": tampered}).status_code
            for tampered in [*every_change(report_secret), "", report_secret[:-1], "é" * 8]
        ]
        statuses.append(client.get(url, params).status_code)  # no secret at all
        statuses.append(
            client.post(url, {**params, "secret": changed(report_secret, 3)}).status_code
        )

    assert set(statuses) == {403}
    assert client.get(url, {**params, "secret": report_secret}).status_code == 200
    assert DeliveryReport.objects.count() == 1


def test_without_a_configured_secret_every_report_is_refused(
    client: Client, settings: Any, account_a: Any
) -> None:
    settings.KANNEL_REPORT_SECRET = ""

    with no_database_write():
        answer = client.get(reverse("kannel-report"), {"secret": "", "id": "1", "type": "1"})

    assert answer.status_code == 403


# -- constant time ---------------------------------------------------------------------


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Every call of hmac.compare_digest, still doing the real comparison (a spy)."""
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


@pytest.mark.parametrize(
    "given",
    ["right", "one-character-off", "too-short", "not-hex", "not-ascii"],
)
def test_json_signatures_are_compared_in_constant_time(
    client: Client, carrier: Any, comparisons: list, given: str
) -> None:
    _connection, secret = carrier
    timestamp, signature = signed(secret, payload())
    sent = {
        "right": signature,
        "one-character-off": changed(signature, 10),
        "too-short": signature[:20],
        "not-hex": "z" * 64,
        "not-ascii": "é" * 64,
    }[given]

    post_json(client, body=payload(), timestamp=timestamp, signature=sent)

    # Exactly one comparison, by compare_digest, whatever was sent: no early `==`.
    assert len(comparisons) == 1
    expected, _given = comparisons[0]
    assert expected in {signature, signature.encode()}


def test_the_delivery_report_secret_is_compared_in_constant_time(
    client: Client, report_secret: str, comparisons: list
) -> None:
    client.get(reverse("kannel-report"), {"secret": "wrong", "id": "1", "type": "1"})
    client.get(reverse("kannel-report"), {"secret": report_secret, "id": "1", "type": "1"})

    assert len(comparisons) == 2
