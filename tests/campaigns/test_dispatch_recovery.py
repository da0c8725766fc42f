"""Dispatch when things break (issue 7, items 2, 4, 5 and 8 at the level of the rows):
a worker that dies before or after submitting, a gateway that takes a message and never
answers, a batch that keeps crashing, a STOP committed while a chunk is being submitted.
The fault scenarios (`make faults`) do the same with real workers and brokers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditEntry, EntryKind
from accounts.selectors import ledger_sum
from blacklist.models import BlacklistEntry, BlacklistSource
from blacklist.services import Addition, attribute, blacklist_add
from campaigns.dispatch import messages_cancel, messages_send_again, resend_unreported
from campaigns.gateways.base import OutgoingSms, SendResult
from campaigns.launch import launch_campaign
from campaigns.lifecycle import campaign_create, tick
from campaigns.models import Campaign, CampaignStatus, Contact, Message, MessageState
from campaigns.reports import apply_report
from campaigns.tasks import dispatch_campaign
from tests.campaigns.test_dispatch import RecordingGateway
from tests.campaigns.test_dispatch import committed as committed  # fixtures
from tests.campaigns.test_dispatch import gateway as gateway

NUMBERS = [f"+4474001234{n:02d}" for n in range(6)]


@pytest.fixture
def campaign(account_a: Any) -> Campaign:
    Contact.objects.bulk_create(
        Contact(account=account_a, phone_number=number, region="GB") for number in NUMBERS
    )
    return campaign_create(account=account_a, name="Hiver", text="Soldes", all_contacts=True)


def launched(campaign: Campaign, committed: Any) -> Campaign:
    """Launched with its dispatch task not run yet (as if the broker lost it)."""
    launch_campaign(campaign)  # on-commit callbacks not run: no dispatch yet
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    return campaign


def claim_abandoned(campaign: Campaign, *, submitted: int, settings: Any) -> list[Message]:
    """What a worker killed mid-batch leaves: all rows claimed, the first `submitted`
    marked submitted, the claim older than SMS_CLAIM_TIMEOUT."""
    long_ago = timezone.now() - timedelta(seconds=settings.SMS_CLAIM_TIMEOUT + 1)
    rows = list(Message.objects.filter(campaign=campaign).order_by("id"))
    Message.objects.filter(id__in=[m.id for m in rows]).update(
        state=MessageState.SENDING, claim="dead-worker", claimed_at=long_ago, attempts=1
    )
    Message.objects.filter(id__in=[m.id for m in rows[:submitted]]).update(submitted_at=long_ago)
    Campaign.objects.filter(pk=campaign.pk).update(dispatched_at=long_ago)
    return rows


def states(campaign: Campaign) -> dict[str, str]:
    return dict(Message.objects.filter(campaign=campaign).values_list("phone_number", "state"))


def test_a_dead_workers_submitted_rows_become_unknown_and_are_never_sent_again(
    account_a: Any, campaign: Campaign, gateway: RecordingGateway, committed: Any, settings: Any
) -> None:
    campaign = launched(campaign, committed)
    rows = claim_abandoned(campaign, submitted=2, settings=settings)

    outcome = committed(tick)

    assert (outcome["released"], outcome["unknown"]) == (4, 2)
    # The four never submitted went out once; the two submitted did not go again.
    assert sorted(gateway.handed) == sorted(m.id for m in rows[2:])
    assert set(gateway.handed.values()) == {1}
    after = states(campaign)
    assert [after[m.phone_number] for m in rows[:2]] == [MessageState.UNKNOWN] * 2
    assert MessageState.UNKNOWN not in {after[m.phone_number] for m in rows[2:]}
    unknown = Message.objects.get(pk=rows[0].pk)
    assert unknown.sent_at == unknown.submitted_at  # counted as handed over
    assert "no answer" in unknown.error
    # Its STOP is attributed: it may have reached the phone.
    assert attribute(rows[0].phone_number).account_id == account_a.pk

    # The tick again, and dispatch again: nothing more leaves.
    committed(tick)
    committed(dispatch_campaign, campaign.pk)
    assert sum(gateway.handed.values()) == 4
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED

    # The carrier's report settles it: the gateway had it after all.
    apply_report(gateway="local", message_ref=str(rows[0].pk), status="delivered", raw="1")
    apply_report(gateway="local", message_ref=str(rows[1].pk), status="accepted", raw="8")
    assert Message.objects.get(pk=rows[0].pk).state == MessageState.DELIVERED
    assert Message.objects.get(pk=rows[1].pk).state == MessageState.SENT
    # Debited once each, nothing refunded: every message was (or may have been) sent.
    assert not CreditEntry.objects.filter(account=account_a, kind=EntryKind.REFUND).exists()
    account_a.refresh_from_db()
    assert ledger_sum(account=account_a) == account_a.credit_balance


def test_a_report_that_arrived_before_the_sweep_decides_the_state(
    campaign: Campaign, gateway: RecordingGateway, committed: Any, settings: Any
) -> None:
    campaign = launched(campaign, committed)
    rows = claim_abandoned(campaign, submitted=3, settings=settings)
    apply_report(gateway="local", message_ref=str(rows[0].pk), status="delivered", raw="1")
    apply_report(gateway="local", message_ref=str(rows[1].pk), status="failed", raw="2")

    committed(tick)

    assert [Message.objects.get(pk=m.pk).state for m in rows[:3]] == [
        MessageState.DELIVERED,
        MessageState.FAILED,
        MessageState.UNKNOWN,
    ]


class SilentGateway(RecordingGateway):
    """Takes the message, then the connection drops before the answer (item 5)."""

    def __init__(self, silent: set[str]) -> None:
        super().__init__()
        self.silent = silent

    def _send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        results = super()._send(messages)
        return [
            SendResult(r.message_id, False, error="kannel: no answer (reset)", unknown=True)
            if sms.to in self.silent
            else r
            for sms, r in zip(messages, results, strict=True)
        ]


@pytest.fixture
def silent_gateway(monkeypatch: pytest.MonkeyPatch) -> SilentGateway:
    recording = SilentGateway({NUMBERS[1]})
    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: recording)
    return recording


def test_an_unanswered_submission_stays_unknown_until_support_sends_it_again(
    account_a: Any, campaign: Campaign, silent_gateway: SilentGateway, committed: Any
) -> None:
    committed(launch_campaign, campaign)

    silent = Message.objects.get(campaign=campaign, phone_number=NUMBERS[1])
    assert silent.state == MessageState.UNKNOWN
    assert silent.error == "kannel: no answer (reset)"
    assert silent_gateway.handed[silent.pk] == 1
    # Neither the tick nor another dispatch sends it again; it is not refunded.
    committed(tick)
    committed(dispatch_campaign, campaign.pk)
    assert silent_gateway.handed[silent.pk] == 1
    assert not CreditEntry.objects.filter(account=account_a, kind=EntryKind.REFUND).exists()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED

    # Support: a report came? No. Sending again is their decision, once reports had time.
    assert resend_unreported(Message.objects.all(), older_than=timedelta(hours=1)) == 0
    assert committed(resend_unreported, Message.objects.all(), older_than=timedelta(0)) == 1
    assert silent_gateway.handed[silent.pk] == 2  # the carrier confirmed it never had it
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED  # reopened, sent, completed again


def test_support_cancels_an_unknown_message_with_a_refund(
    account_a: Any, campaign: Campaign, silent_gateway: SilentGateway, committed: Any
) -> None:
    committed(launch_campaign, campaign)
    balance = account_a.__class__.objects.get(pk=account_a.pk).credit_balance
    credits = Message.objects.get(campaign=campaign, phone_number=NUMBERS[1]).credits

    assert messages_cancel(Message.objects.filter(campaign=campaign)) == (1, credits)
    assert messages_cancel(Message.objects.filter(campaign=campaign)) == (0, 0)  # once

    account_a.refresh_from_db()
    assert account_a.credit_balance == balance + credits
    assert ledger_sum(account=account_a) == account_a.credit_balance
    cancelled = Message.objects.get(campaign=campaign, phone_number=NUMBERS[1])
    assert cancelled.state == MessageState.CANCELLED


class PoisonGateway(RecordingGateway):
    """Crashes on one message before anything of its chunk leaves (a bug in the client,
    a text it cannot encode): the batch fails every time it holds that message."""

    def __init__(self, poison: str) -> None:
        super().__init__()
        self.poison = poison
        self.crashes = 0

    def prepare(self, messages: Sequence[OutgoingSms]) -> None:
        if any(sms.to == self.poison for sms in messages):
            self.crashes += 1
            raise UnicodeEncodeError("ascii", self.poison, 0, 1, "cannot encode")


def test_a_batch_that_keeps_crashing_is_retried_alone_then_parked(
    account_a: Any,
    campaign: Campaign,
    committed: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    admin_client: Any,
) -> None:
    poison = PoisonGateway(NUMBERS[2])
    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: poison)
    campaign = launched(campaign, committed)

    runs = 0
    while runs < 10:  # what the tick does, each time it finds the campaign stalled
        runs += 1
        try:
            handed = committed(dispatch_campaign, campaign.pk)
        except UnicodeEncodeError:
            continue
        if not handed:
            break

    # Bounded: the poison crashed its batch, then twice alone, and was parked.
    assert poison.crashes == settings.SMS_DISPATCH_MAX_ATTEMPTS
    parked = Message.objects.get(campaign=campaign, phone_number=NUMBERS[2])
    assert parked.state == MessageState.PARKED
    assert parked.attempts == settings.SMS_DISPATCH_MAX_ATTEMPTS
    assert "UnicodeEncodeError" in parked.error
    # The others each left once; the campaign is complete, the parked one shown.
    assert sorted(poison.handed.values()) == [1] * 5
    assert poison.handed.keys() == set(
        Message.objects.filter(campaign=campaign).exclude(pk=parked.pk).values_list("pk", flat=True)
    )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert runs < 10
    # Nothing more: a parked message is never claimed.
    assert committed(dispatch_campaign, campaign.pk) == 0
    committed(tick)
    assert Message.objects.get(pk=parked.pk).state == MessageState.PARKED

    # Support staff see it in the admin and decide.
    url = reverse("admin:campaigns_message_changelist")
    page = admin_client.get(url, {"decision": "parked"})
    assert page.status_code == 200
    assert NUMBERS[2] in page.content.decode()
    assert site._registry[Message].has_add_permission(page.wsgi_request) is False
    answer = admin_client.post(
        url, {"action": "cancel_and_refund", "_selected_action": [parked.pk]}, follow=True
    )
    refunded = f"1 message cancelled, {parked.credits} credits refunded."
    assert refunded in answer.content.decode()
    assert Message.objects.get(pk=parked.pk).state == MessageState.CANCELLED


def test_support_sends_a_parked_message_again(
    campaign: Campaign, gateway: RecordingGateway, committed: Any, settings: Any
) -> None:
    campaign = launched(campaign, committed)
    rows = claim_abandoned(campaign, submitted=0, settings=settings)
    Message.objects.filter(pk=rows[0].pk).update(attempts=settings.SMS_DISPATCH_MAX_ATTEMPTS)

    outcome = committed(tick)  # parks the exhausted one, sends the rest

    assert outcome["parked"] == 1
    assert Message.objects.get(pk=rows[0].pk).state == MessageState.PARKED
    assert rows[0].pk not in gateway.handed
    assert committed(messages_send_again, Message.objects.filter(pk=rows[0].pk)) == 1
    assert gateway.handed[rows[0].pk] == 1
    assert Message.objects.get(pk=rows[0].pk).state == MessageState.DELIVERED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stop_waits_for_the_chunk_being_submitted_and_the_next_chunk_skips_it(
    account_a: Any,
    campaign: Campaign,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    """The STOP guard (item 8): a STOP for a number of the chunk in flight commits only
    after that chunk was submitted; a STOP for a later chunk's number is seen by it."""
    settings.SMS_DISPATCH_SUBMIT_CHUNK = 3
    settings.SMS_LOCAL_REPORTS = False
    in_gateway, release = threading.Event(), threading.Event()
    submitted_at: dict[str, Any] = {}

    class HeldGateway(RecordingGateway):
        def _send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
            for sms in messages:
                submitted_at[sms.to] = timezone.now()
            if not in_gateway.is_set():
                in_gateway.set()
                release.wait(30)  # the first chunk stays "in flight" until the STOPs try
            return super()._send(messages)

    held = HeldGateway()
    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: held)
    monkeypatch.setattr("campaigns.tasks.start_dispatch", lambda campaign_id: None)
    launch_campaign(campaign)  # commits; its dispatch task runs in a thread (below)
    sender = threading.Thread(target=lambda: _run_and_close(dispatch_campaign, campaign.pk))
    stopped: dict[str, Any] = {}

    def stop(number: str) -> None:
        [entry] = blacklist_add(
            additions=[
                Addition(account_id=account_a.pk, number=number, source=BlacklistSource.STOP_SMS)
            ]
        )
        stopped[number] = entry.created_at
        connections.close_all()

    sender.start()
    assert in_gateway.wait(30)
    stops = [threading.Thread(target=stop, args=(n,)) for n in (NUMBERS[0], NUMBERS[4])]
    for thread in stops:
        thread.start()
    for thread in stops:
        thread.join(1.0)
    # Both wait for the chunk in flight (the guard is per account, not per number).
    assert not stopped
    release.set()
    sender.join(30)
    for thread in stops:
        thread.join(30)

    assert set(stopped) == {NUMBERS[0], NUMBERS[4]}
    # NUMBERS[0] was in flight: submitted before its entry existed, sent.
    assert submitted_at[NUMBERS[0]] < stopped[NUMBERS[0]]
    # NUMBERS[4] was in the next chunk: its check saw the entry, skipped and refunded.
    assert NUMBERS[4] not in submitted_at
    assert states(campaign)[NUMBERS[4]] == MessageState.SKIPPED
    # No submission to any number after its STOP committed.
    for number, at in stopped.items():
        assert number not in submitted_at or submitted_at[number] < at
    assert BlacklistEntry.objects.filter(account=account_a).count() == 2


def _run_and_close(task: Any, *args: Any) -> None:
    try:
        task(*args)
    finally:
        connections.close_all()


def test_cancelling_a_campaign_refunds_its_parked_messages_too(
    account_a: Any, campaign: Campaign, committed: Any, settings: Any
) -> None:
    from campaigns.lifecycle import campaign_cancel

    campaign = launched(campaign, committed)
    debited = sum(Message.objects.filter(campaign=campaign).values_list("credits", flat=True))
    first = Message.objects.filter(campaign=campaign).order_by("id").first()
    Message.objects.filter(pk=first.pk).update(state=MessageState.PARKED, attempts=3)

    _campaign, refunded = campaign_cancel(campaign)

    assert refunded == debited
    assert set(Message.objects.filter(campaign=campaign).values_list("state", flat=True)) == {
        MessageState.CANCELLED
    }
    account_a.refresh_from_db()
    assert ledger_sum(account=account_a) == account_a.credit_balance


def test_an_unreachable_gateway_gives_the_claim_back_as_if_never_claimed(
    campaign: Campaign, gateway: RecordingGateway, committed: Any, monkeypatch: Any
) -> None:
    down = RecordingGateway()
    down._send = lambda messages: [  # type: ignore[method-assign]
        SendResult(sms.message_id, False, error="unreachable", retry=True) for sms in messages
    ]
    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: down)
    committed(launch_campaign, campaign)

    rows = Message.objects.filter(campaign=campaign)
    assert set(rows.values_list("state", "attempts", "submitted_at")) == {
        (MessageState.QUEUED, 0, None)
    }
    # Later the gateway answers: each message leaves once, in the normal claims.
    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: gateway)
    committed(dispatch_campaign, campaign.pk)
    assert sorted(gateway.handed.values()) == [1] * len(NUMBERS)
