"""Item 11: delivery reports delivered twice, shuffled, intermediate ones after final
ones, 1 % for ids the platform never sent.

Two identical sets of messages: one gets each message's reports once, in order (what
a perfect carrier sends); the other gets every report twice, the whole lot shuffled,
late intermediate reports after the final ones, and unknown ids mixed in. Some
messages are still `sending` (their batch not recorded yet: the report overtook it).
The final statuses must be identical, no status may go backwards at any point, each
message's final status is announced to the account's callback once, and every unknown
id gets 200 and is kept for support.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from callbacks.services import callback_create
from campaigns.dispatch import _set_sent
from campaigns.gateways.base import SendResult
from campaigns.models import DeliveryReport, Message, MessageState

pytestmark = pytest.mark.django_db

SECRET = "dlr-secret-for-faults"
MESSAGES = 150
STILL_SENDING = 15  # of them: the report overtakes the batch
FINAL_TYPES = [1] * 7 + [2, 16]  # mostly delivered; some failed, some rejected
INTERMEDIATE = [8, 4]  # accepted, buffered
FINAL_STATES = {MessageState.DELIVERED, MessageState.FAILED}
FINAL_REPORTS = {"delivered", "failed", "rejected"}


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.KANNEL_REPORT_SECRET = SECRET


@dataclass
class Report:
    ref: str
    kannel_type: int
    answer: str


def make_messages(account: Account, claim: str) -> list[Message]:
    messages = []
    for index in range(MESSAGES):
        sending = index < STILL_SENDING
        messages.append(
            Message.objects.create(
                account=account,
                phone_number=f"+336123{index:05d}",
                region="FR",
                text="Promo STOP 36034",
                segments=1,
                credits=1,
                state=MessageState.SENDING if sending else MessageState.SENT,
                gateway="" if sending else "kannel",
                claim=claim if sending else "",
                sent_at=None if sending else timezone.now(),
            )
        )  # fmt: skip
    return messages


def reports_of(messages: list[Message], rng: random.Random) -> list[list[Report]]:
    """Each message's reports in the order a perfect carrier sends them."""
    sequences = []
    for message in messages:
        final = rng.choice(FINAL_TYPES)
        answer = {1: "ACK/", 2: "NACK/0x0b/Invalid Destination", 16: "NACK/Rejected"}[final]
        sequences.append(
            [Report(str(message.pk), kind, "ACK/") for kind in INTERMEDIATE]
            + [Report(str(message.pk), final, answer)]
        )
    return sequences


def post(client: Client, report: Report) -> int:
    return client.get(
        reverse("kannel-report"),
        {"secret": SECRET, "id": report.ref, "type": report.kannel_type, "answer": report.answer},
    ).status_code


def outcome(messages: list[Message]) -> list[tuple[str, str, str]]:
    rows = Message.objects.in_bulk([message.pk for message in messages])
    return [(rows[m.pk].state, rows[m.pk].report, rows[m.pk].error) for m in messages]


def record_batch(claim: str, messages: list[Message]) -> None:
    """Dispatch records the batch the reports overtook."""
    sending = [message for message in messages if message.claim == claim]
    _set_sent(
        claim,
        "kannel",
        [SendResult(message.pk, True, gateway_id=f"g{message.pk}") for message in sending],
        timezone.now(),
    )


def rank(state: str, report: str) -> tuple[int, int]:
    """How far a message has gone: a final state or report never comes back down."""
    return (state in FINAL_STATES, report in FINAL_REPORTS)


def test_replayed_shuffled_and_late_reports_end_as_one_in_order_delivery(
    account_a: Account, django_capture_on_commit_callbacks: Any
) -> None:
    rng = random.Random(20261130)
    callback_create(account=account_a, url="https://example.com/hook", events=["message.status"])
    client = Client()
    in_order = make_messages(account_a, claim="batch-in-order")
    hostile = make_messages(account_a, claim="batch-hostile")
    sequences = reports_of(in_order, rng)

    # The perfect carrier: each report once, in order.
    with django_capture_on_commit_callbacks(execute=False) as in_order_callbacks:
        for sequence in sequences:
            for report in sequence:
                assert post(client, report) == 200
    record_batch("batch-in-order", in_order)

    # The hostile one: the same reports for the twin messages, each twice, shuffled,
    # a late intermediate report after each final one, 1 % for ids never sent.
    twin = {str(a.pk): str(b.pk) for a, b in zip(in_order, hostile, strict=True)}
    deliveries = [
        Report(twin[report.ref], report.kannel_type, report.answer)
        for sequence in sequences
        for report in sequence
        for _copy in range(2)
    ]
    rng.shuffle(deliveries)
    late = [Report(twin[s[-1].ref], rng.choice(INTERMEDIATE), "ACK/") for s in sequences]
    unknown_refs = [str(10**9 + n) for n in range(len(deliveries) // 100 - 2)]
    unknown_refs += ["not-a-number", "x" * 80]
    unknown = [Report(ref, rng.choice([1, 2, 8]), "ACK/") for ref in unknown_refs]
    deliveries += late + unknown
    rng.shuffle(deliveries)

    progress = {message.pk: rank(message.state, message.report) for message in hostile}
    backwards = []
    with django_capture_on_commit_callbacks(execute=False) as hostile_callbacks:
        for report in deliveries:
            assert post(client, report) == 200
            if report.ref.isdigit() and int(report.ref) in progress:
                message = Message.objects.only("state", "report").get(pk=int(report.ref))
                now = rank(message.state, message.report)
                if now < progress[message.pk]:
                    backwards.append((message.pk, progress[message.pk], now))
                progress[message.pk] = max(now, progress[message.pk])
    record_batch("batch-hostile", hostile)

    assert outcome(hostile) == outcome(in_order)
    assert all(state in FINAL_STATES for state, _report, _error in outcome(hostile))
    assert backwards == []
    # One callback per message's final status, however many times it was reported.
    assert len(in_order_callbacks) == len(hostile_callbacks) == MESSAGES
    kept = DeliveryReport.objects.filter(message__isnull=True)
    assert kept.count() == len(unknown)
    assert set(kept.values_list("message_ref", flat=True)) == {ref[:64] for ref in unknown_refs}


def test_a_second_final_report_never_changes_a_message_whose_batch_is_not_recorded(
    account_a: Account,
) -> None:
    (message,) = make_messages(account_a, claim="c1")[:1]
    client = Client()

    post(client, Report(str(message.pk), 1, "ACK/"))
    post(client, Report(str(message.pk), 2, "NACK/late"))
    post(client, Report(str(message.pk), 8, "ACK/"))
    record_batch("c1", [message])

    message.refresh_from_db()
    assert (message.state, message.report, message.error) == (
        MessageState.DELIVERED,
        "delivered",
        "",
    )


def test_a_failure_reported_before_its_batch_is_recorded_keeps_its_reason(
    account_a: Account,
) -> None:
    (message,) = make_messages(account_a, claim="c1")[:1]

    post(Client(), Report(str(message.pk), 2, "NACK/0x0b/Invalid Destination"))
    record_batch("c1", [message])

    message.refresh_from_db()
    assert (message.state, message.error) == (
        MessageState.FAILED,
        "NACK/0x0b/Invalid Destination",
    )
