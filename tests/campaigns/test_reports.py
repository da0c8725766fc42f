"""The delivery-report webhook: secret, status mapping, idempotence, unknown ids, and a
report that overtakes the batch that sent its message."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.dispatch import _set_sent
from campaigns.gateways.base import SendResult
from campaigns.models import DeliveryReport, Message, MessageState
from campaigns.reports import apply_report

SECRET = "s3cret-for-tests"


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.KANNEL_REPORT_SECRET = SECRET


def make_message(account: Any, state: str = MessageState.SENT, **extra: Any) -> Message:
    values = {
        "account": account,
        "phone_number": "+33612345678",
        "region": "FR",
        "text": "Promo STOP 36034",
        "segments": 1,
        "credits": 1,
        "state": state,
        "gateway": "kannel" if state != MessageState.SENDING else "",
    }
    values.update(extra)
    return Message.objects.create(**values)


def report(client: Client, **params: Any) -> Any:
    return client.get(reverse("kannel-report"), {"secret": SECRET, **params})


def test_reports_move_the_message_and_the_first_final_one_wins(account_a: Any) -> None:
    client = Client()
    message = make_message(account_a)

    assert report(client, id=message.pk, type=8, answer="ACK/").status_code == 200
    message.refresh_from_db()
    assert (message.state, message.report) == (MessageState.SENT, "accepted")

    assert report(client, id=message.pk, type=1).status_code == 200
    message.refresh_from_db()
    assert (message.state, message.report) == (MessageState.DELIVERED, "delivered")

    # Replayed or late reports change nothing more.
    report(client, id=message.pk, type=1)
    report(client, id=message.pk, type=8)
    report(client, id=message.pk, type=2)
    message.refresh_from_db()
    assert (message.state, message.report) == (MessageState.DELIVERED, "delivered")
    assert DeliveryReport.objects.filter(message=message).count() == 5


@pytest.mark.parametrize(
    ("kannel_type", "state", "status"),
    [
        (2, MessageState.FAILED, "failed"),
        (16, MessageState.FAILED, "rejected"),
        (4, MessageState.SENT, "buffered"),
    ],
)
def test_kannel_types_map_onto_message_states(
    account_a: Any, kannel_type: int, state: str, status: str
) -> None:
    message = make_message(account_a)
    report(Client(), id=message.pk, type=kannel_type, answer="NACK/0x0b/Invalid Destination")
    message.refresh_from_db()
    assert (message.state, message.report) == (state, status)
    if state == MessageState.FAILED:
        assert message.error == "NACK/0x0b/Invalid Destination"


def test_a_bad_secret_is_refused_and_changes_nothing(account_a: Any) -> None:
    message = make_message(account_a)
    client = Client()
    for params in ({"secret": "wrong"}, {"secret": ""}, {}):
        response = client.get(reverse("kannel-report"), {"id": message.pk, "type": 1, **params})
        assert response.status_code == 403
    message.refresh_from_db()
    assert message.state == MessageState.SENT
    assert not DeliveryReport.objects.exists()


def test_an_unset_secret_refuses_every_report(account_a: Any, settings: Any) -> None:
    settings.KANNEL_REPORT_SECRET = ""
    message = make_message(account_a)
    response = Client().get(reverse("kannel-report"), {"secret": "", "id": message.pk, "type": 1})
    assert response.status_code == 403


def test_unknown_ids_are_recorded_not_a_crash(db: Any) -> None:
    client = Client()
    for ref in ("999999", "not-a-number", "1" * 40):
        response = report(client, id=ref, type=1)
        assert response.status_code == 200
        assert b"unknown id recorded" in response.content
    kept = DeliveryReport.objects.filter(message__isnull=True)
    assert sorted(kept.values_list("message_ref", flat=True)) == sorted(
        ["999999", "not-a-number", "1" * 40]
    )


def test_malformed_reports_are_400(account_a: Any) -> None:
    message = make_message(account_a)
    client = Client()
    assert report(client, type=1).status_code == 400
    assert report(client, id=message.pk, type="x").status_code == 400
    assert report(client, id=message.pk, type=3).status_code == 400
    assert not DeliveryReport.objects.exists()


def test_a_report_overtaking_its_batch_is_kept_and_applied_when_the_batch_is_recorded(
    account_a: Any,
) -> None:
    message = make_message(account_a, state=MessageState.SENDING, claim="c1")

    apply_report(gateway="kannel", message_ref=str(message.pk), status="delivered", raw="1")
    message.refresh_from_db()
    assert (message.state, message.report) == (MessageState.SENDING, "delivered")

    _set_sent("c1", "kannel", [SendResult(message.pk, True, gateway_id="g1")], timezone.now())
    message.refresh_from_db()
    assert message.state == MessageState.DELIVERED
    assert message.gateway_id == "g1"


def test_reports_never_touch_messages_that_were_not_handed_over(account_a: Any) -> None:
    message = make_message(account_a, state=MessageState.SKIPPED)
    report(Client(), id=message.pk, type=1)
    message.refresh_from_db()
    assert message.state == MessageState.SKIPPED
