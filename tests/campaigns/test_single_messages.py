"""Messages outside campaigns (the STOP confirmation): handed over once however many
tasks run, a refusal refunded, and one the gateway could not take sent by the tick."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import CreditEntry, EntryKind
from campaigns.dispatch import send_messages
from campaigns.gateways.base import SendResult
from campaigns.lifecycle import tick
from campaigns.models import Message, MessageState
from tests.builders import make_account
from tests.campaigns.test_dispatch import RecordingGateway


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> RecordingGateway:
    recording = RecordingGateway()
    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: recording)
    return recording


def single(account: Any, number: str = "+33612345678") -> Message:
    return Message.objects.create(
        account=account,
        phone_number=number,
        region="FR",
        text="Vous ne recevrez plus de SMS de Shop.",
        segments=1,
        credits=1,
        marketing=False,
    )


def test_a_message_is_handed_over_once_however_many_tasks_run(
    db: Any, gateway: RecordingGateway
) -> None:
    message = single(make_account(slug="shop"))

    first = send_messages([message.pk])
    second = send_messages([message.pk])

    assert (first.claimed, first.sent, second.claimed) == (1, 1, 0)
    assert gateway.handed == {message.pk: 1}
    message.refresh_from_db()
    assert message.state == MessageState.SENT


def test_a_refused_message_is_failed_and_refunded(db: Any, gateway: RecordingGateway) -> None:
    account = make_account(slug="shop", credits=5)
    message = single(account, "+33600000000")
    gateway.reject.add("+33600000000")

    outcome = send_messages([message.pk])

    assert (outcome.failed, outcome.refunded) == (1, 1)
    message.refresh_from_db()
    assert (message.state, message.error) == (MessageState.FAILED, "unknown subscriber")
    refund = CreditEntry.objects.get(kind=EntryKind.REFUND)
    assert refund.reference == f"message:{message.pk}:rejected"


def test_a_message_the_gateway_could_not_take_is_sent_by_the_tick(
    db: Any,
    gateway: RecordingGateway,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    message = single(make_account(slug="shop"))
    down = RecordingGateway()
    down._send = lambda messages: [  # type: ignore[method-assign]
        SendResult(sms.message_id, False, error="unreachable", retry=True) for sms in messages
    ]
    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: down)
    assert send_messages([message.pk]).retry == 1
    message.refresh_from_db()
    # Back in the queue as if never claimed: not an attempt of its own, nothing submitted.
    assert (message.state, message.attempts, message.submitted_at) == (
        MessageState.QUEUED,
        0,
        None,
    )

    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: gateway)
    with django_capture_on_commit_callbacks(execute=True):
        assert tick()["single"] == 1

    message.refresh_from_db()
    assert message.state in {MessageState.SENT, MessageState.DELIVERED}  # local reports
    assert gateway.handed == {message.pk: 1}


def test_a_message_to_a_number_blacklisted_after_it_was_queued_is_skipped_and_refunded(
    db: Any, gateway: RecordingGateway
) -> None:
    from blacklist.models import BlacklistSource
    from blacklist.services import blacklist_numbers

    account = make_account(slug="shop", credits=5)
    message = single(account)
    # A STOP that committed while the send was being written could not cancel this row.
    blacklist_numbers(account=account, numbers=[message.phone_number], source=BlacklistSource.API)
    Message.objects.filter(pk=message.pk).update(state=MessageState.QUEUED, error="")

    outcome = send_messages([message.pk])

    assert (outcome.skipped, outcome.refunded, outcome.sent) == (1, 1, 0)
    assert gateway.handed == {}
    message.refresh_from_db()
    assert message.state == MessageState.SKIPPED
    assert CreditEntry.objects.get(reference=f"message:{message.pk}:skipped").amount == 1


def test_a_stop_confirmation_goes_to_the_number_it_blacklisted(
    db: Any, gateway: RecordingGateway
) -> None:
    from blacklist.models import BlacklistEntry, BlacklistSource
    from blacklist.services import blacklist_number

    account = make_account(slug="shop", credits=5)
    entry, _created = blacklist_number(
        account=account, number="+33612345678", source=BlacklistSource.STOP_SMS
    )
    confirmation = BlacklistEntry.objects.get(pk=entry.pk).confirmation_id

    outcome = send_messages([confirmation])

    assert (outcome.sent, outcome.skipped) == (1, 0)
    assert gateway.handed == {confirmation: 1}


def test_a_single_message_that_keeps_crashing_is_parked_alone(
    db: Any,
    gateway: RecordingGateway,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    """A poisonous message among STOP confirmations: after its batch crashed, the tick
    sends each retried message in a task of its own, so only the poison is parked."""
    account = make_account(slug="shop", credits=10)
    poison, *confirmations = [single(account, f"+3361234567{n}") for n in range(4)]

    def prepare(messages: Any) -> None:
        if any(sms.message_id == poison.pk for sms in messages):
            raise UnicodeEncodeError("ascii", "x", 0, 1, "cannot encode")

    monkeypatch.setattr(gateway, "prepare", prepare)
    with pytest.raises(UnicodeEncodeError):
        send_messages([poison.pk, *(message.pk for message in confirmations)])
    assert set(Message.objects.values_list("state", "attempts")) == {(MessageState.QUEUED, 1)}

    for _ in range(settings.SMS_DISPATCH_MAX_ATTEMPTS):  # the tick, again and again
        with django_capture_on_commit_callbacks() as tasks:
            tick()
        for task in tasks:  # each task on its own, as workers run them
            try:
                task()
            except UnicodeEncodeError:
                pass

    poison.refresh_from_db()
    assert (poison.state, poison.attempts) == (MessageState.PARKED, 3)
    assert gateway.handed == {message.pk: 1 for message in confirmations}
    assert poison.pk not in gateway.handed
