"""Replies through Kannel's post-url on the inbound webhook: the requests are those the
real Kannel 1.4.5 sends (tests/kannel_requests.py, checked against it by
tests/e2e/test_kannel_post_url.py): the text as the body in its charset, the sender and
the shortcode in X-Kannel-* headers, the message id from the query string."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import resolve, reverse

from accounts.models import CreditEntry, EntryKind
from blacklist.models import (
    BlacklistEntry,
    GatewayConnection,
    GatewayKind,
    InboundMessage,
    InboundStatus,
    RejectedInbound,
)
from blacklist.services import connection_create
from blacklist.webhooks import MAX_BODY_BYTES, MAX_TEXT_CHARS, kannel_inbound
from campaigns.models import Message
from tests.blacklist.test_inbound import sent_message
from tests.builders import make_account
from tests.kannel_requests import SENDER, SHORTCODE, PostUrlCall, post_url_call

CARRIER_ID = "80ce3020-e44f-48c7-8409-60801b088987"  # Kannel's %I: a UUID


@pytest.fixture
def kannel(db: Any) -> tuple[GatewayConnection, str]:
    return connection_create(name="kannel-orange", kind=GatewayKind.KANNEL)


@pytest.fixture
def deliver(
    client: Client, kannel: tuple[GatewayConnection, str], django_capture_on_commit_callbacks: Any
) -> Callable[..., Any]:
    """POST as Kannel's post-url does ("…/inbound/<token>/?id=%I"); the commit's tasks
    run (the confirmation SMS leaves)."""

    def call(
        kannel_call: PostUrlCall,
        *,
        query: str = f"?id={CARRIER_ID}",
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        url = reverse("kannel-inbound", args=[token or kannel[1]]) + query
        with django_capture_on_commit_callbacks(execute=True):
            return client.generic(
                "POST",
                url,
                kannel_call.body,
                headers=kannel_call.headers | (headers or {}),
                # Given even with an empty body, as Kannel does (the client would not).
                CONTENT_TYPE=kannel_call.content_type,
            )

    return call


def rejected(answer: Any, reason: str) -> RejectedInbound:
    """The answer is 400 with `reason`, nothing is stored but the request, kept."""
    assert answer.status_code == 400, answer.content
    assert reason in answer.content.decode()
    kept = RejectedInbound.objects.get()
    assert reason in kept.reason
    assert not InboundMessage.objects.exists()
    return kept


def test_a_stop_posted_by_kannel_blacklists_the_number(deliver: Any) -> None:
    account = make_account(slug="shop", credits=10)
    sent_message(account)

    answer = deliver(post_url_call("STOP"))

    assert (answer.status_code, answer.content) == (200, b"ok\n")
    inbound = InboundMessage.objects.get()
    assert (inbound.carrier_id, inbound.sender, inbound.receiver, inbound.text) == (
        CARRIER_ID,
        SENDER,
        SHORTCODE,
        "STOP",
    )
    assert inbound.status == InboundStatus.BLACKLISTED
    assert BlacklistEntry.objects.get().account == account
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1


@pytest.mark.parametrize(
    ("text", "ucs2"),
    [
        ("Café à 5€ [ok] ~ ^ {x} | \\ @£$ Ø", False),  # GSM with its extension table
        ("Désabonnez-moi ☕ 😀 €", True),  # UCS-2: the emoji is a surrogate pair
        ("Œuvre", True),
        ("", False),  # an empty SMS is still a reply
    ],
)
def test_the_text_is_read_in_the_charset_kannel_declares(
    deliver: Any, text: str, ucs2: bool
) -> None:
    answer = deliver(post_url_call(text, ucs2=ucs2))

    assert answer.status_code == 200
    assert InboundMessage.objects.get().text == text


def test_a_ucs2_stop_with_an_emoji_is_a_stop(deliver: Any) -> None:
    sent_message(make_account(slug="shop", credits=10))

    deliver(post_url_call("Stop 🙏", ucs2=True))

    assert InboundMessage.objects.get().status == InboundStatus.BLACKLISTED


@pytest.mark.parametrize(
    ("text", "ucs2"),
    [
        ("Élodie répond : " + "é" * 2_100 + " 😀 fin", True),  # 32 UCS-2 parts
        (("Bonjour, je voudrais savoir si la boutique est ouverte dimanche. " * 40), False),
        ("a" * MAX_TEXT_CHARS, False),  # 255 parts of 153: the longest there is
    ],
)
def test_a_long_reply_is_stored_whole(deliver: Any, text: str, ucs2: bool) -> None:
    answer = deliver(post_url_call(text, ucs2=ucs2))

    assert answer.status_code == 200
    assert InboundMessage.objects.get().text == text


def test_the_carriers_retry_of_the_same_id_changes_nothing(deliver: Any) -> None:
    sent_message(make_account(slug="shop", credits=10))
    stop = post_url_call("STOP")

    first = deliver(stop)
    again = deliver(stop)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == b"ok: already received\n"
    assert InboundMessage.objects.count() == BlacklistEntry.objects.count() == 1
    assert Message.objects.filter(campaign=None, marketing=False).count() == 1
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1


def test_the_same_id_by_get_url_and_post_url_is_one_reply(
    deliver: Any, client: Client, kannel: Any
) -> None:
    url = reverse("kannel-inbound", args=[kannel[1]])
    client.get(url, {"id": CARRIER_ID, "from": SENDER, "to": SHORTCODE, "text": "STOP"})

    again = deliver(post_url_call("STOP"))

    assert again.content == b"ok: already received\n"
    assert InboundMessage.objects.count() == 1


def test_an_unknown_token_is_refused_and_nothing_is_stored(deliver: Any) -> None:
    answer = deliver(post_url_call("STOP"), token="not-the-token")

    assert answer.status_code == 403
    assert not InboundMessage.objects.exists()
    assert not RejectedInbound.objects.exists()


def test_a_missing_id_is_400_and_the_request_is_kept_without_the_token(
    deliver: Any, kannel: Any
) -> None:
    kept = rejected(deliver(post_url_call("STOP"), query=""), "missing id")

    assert kept.raw.startswith("POST /webhooks/kannel/inbound/<token>/\n")
    assert kannel[1] not in kept.raw  # only the token's hash is kept
    assert f"X-Kannel-From: {SENDER}\n" in kept.raw
    assert 'Content-Type: text/plain; charset="UTF-8"\n' in kept.raw
    assert kept.raw.endswith("\n\nSTOP")


def test_without_send_sender_kannel_gives_no_sender_and_it_is_400(deliver: Any) -> None:
    rejected(deliver(post_url_call("STOP", send_sender=False)), "set send-sender = true")


def test_the_sender_may_come_from_the_query_instead(deliver: Any) -> None:
    call = post_url_call("STOP", send_sender=False)

    answer = deliver(call, query=f"?id={CARRIER_ID}&from=%2B33612345678")

    assert answer.status_code == 200
    assert InboundMessage.objects.get().sender == SENDER


@pytest.mark.parametrize(
    ("call", "headers", "reason"),
    [
        (post_url_call("STOP"), {"X-Kannel-From": "not a number"}, "unreadable sender number"),
        (post_url_call("a" * (MAX_TEXT_CHARS + 1)), {}, "text longer than 39015"),
        (post_url_call("STOP\x00", ucs2=True), {}, "contains a NUL character"),
    ],
)
def test_the_same_field_checks_as_for_a_get_url(
    deliver: Any, call: PostUrlCall, headers: dict[str, str], reason: str
) -> None:
    rejected(deliver(call, headers=headers), reason)


@pytest.mark.parametrize(
    ("ucs2", "body", "reason", "kept_as"),
    [
        (True, "STOP".encode("utf-16-be")[:-1], "body is not UTF-16BE", "\\x00S\\x00T\\x00O\\x00"),
        (True, "😀".encode("utf-16-be")[:2], "body is not UTF-16BE", "\\xd8="),  # half an emoji
        (False, b"Caf\xe9", "body is not UTF-8", "Caf\\xe9"),  # Latin-1, said to be UTF-8
    ],
)
def test_a_body_not_in_its_declared_charset_is_400_and_kept_as_it_came(
    deliver: Any, ucs2: bool, body: bytes, reason: str, kept_as: str
) -> None:
    call = post_url_call("", ucs2=ucs2)

    kept = rejected(deliver(PostUrlCall(call.content_type, call.headers, body)), reason)

    assert kept.raw.endswith("\n\n" + kept_as)


@pytest.mark.parametrize(
    ("content_type", "reason"),
    [
        ("application/octet-stream", "8-bit (binary) message"),  # Kannel's coding 1
        ('text/plain; charset="no-such-charset"', "unknown charset 'no-such-charset'"),
        ('text/xml; charset="ISO-8859-1"', "unsupported Content-Type 'text/xml'"),  # post-xml
    ],
)
def test_a_body_that_is_not_a_text_is_400(deliver: Any, content_type: str, reason: str) -> None:
    call = post_url_call("STOP")

    rejected(deliver(PostUrlCall(content_type, call.headers, call.body)), reason)


class _Unreadable(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


def test_a_body_over_the_limit_is_refused_without_being_read(kannel: Any) -> None:
    call = post_url_call("STOP")
    path = reverse("kannel-inbound", args=[kannel[1]])
    request = RequestFactory().generic(
        "POST",
        f"{path}?id={CARRIER_ID}",
        content_type=call.content_type,
        headers=call.headers,
        CONTENT_LENGTH=str(MAX_BODY_BYTES + 1),
        **{"wsgi.input": _Unreadable()},
    )
    request.resolver_match = resolve(path)

    answer = kannel_inbound(request, token=kannel[1])

    kept = rejected(answer, f"body larger than {MAX_BODY_BYTES} bytes")
    assert kept.raw.endswith("\n\n(body not read)")


def test_a_form_post_is_still_read_as_the_get_url_parameters(client: Client, kannel: Any) -> None:
    url = reverse("kannel-inbound", args=[kannel[1]]) + "?id=form-1"

    answer = client.post(url, {"from": SENDER, "to": SHORTCODE, "text": "Bonjour"})

    assert answer.status_code == 200
    assert InboundMessage.objects.get().text == "Bonjour"


@pytest.mark.parametrize("carrier_id", ["kannel-1", "kannel-12"])  # even and odd queries
def test_the_query_is_read_as_utf8_whatever_the_body_charset(deliver: Any, carrier_id: str) -> None:
    # Django reads request.GET in the Content-Type's charset: UTF-16BE would turn the
    # query into garbage, or "%2B" (the "+" of %p) into "\ufffd".
    call = post_url_call("STOP 😀", ucs2=True, send_sender=False)

    answer = deliver(call, query=f"?id={carrier_id}&from=%2B33612345678")

    assert answer.status_code == 200, answer.content
    assert (InboundMessage.objects.get().carrier_id, InboundMessage.objects.get().sender) == (
        carrier_id,
        SENDER,
    )
