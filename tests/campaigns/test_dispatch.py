"""Campaigns from launch to delivery report: exact texts, one debit, the dispatch state
machine (duplicates, crashes, a STOP mid-campaign), pause/cancel, sending hours."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.errors import InsufficientCredits
from accounts.models import CreditEntry, EntryKind
from accounts.selectors import ledger_sum
from blacklist.models import BlacklistEntry
from campaigns import gateways
from campaigns.dispatch import send_next_batch
from campaigns.errors import CampaignError
from campaigns.gateways.base import OutgoingSms, SendResult
from campaigns.gateways.local import LocalGateway
from campaigns.launch import launch_campaign, plan_campaign
from campaigns.lifecycle import (
    campaign_cancel,
    campaign_create,
    campaign_pause,
    campaign_resume,
    tick,
)
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Contact,
    ContactList,
    Message,
    MessageState,
)
from campaigns.phone import normalize_number
from campaigns.tasks import dispatch_campaign
from tests.builders import make_account

# Tuesday 24 November 2026, 10:00 in Paris: inside the French sending hours.
WEEKDAY_MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
# Sunday 22 November 2026, 15:00 in Paris: outside.
SUNDAY = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)

FRENCH = ["+33612345601", "+33612345602", "+33612345603"]
BRITISH = "+447400123456"


class RecordingGateway(LocalGateway):
    """The local gateway, counting every hand-over: the carrier edge we watch."""

    def __init__(self) -> None:
        super().__init__()
        self.handed: Counter[int] = Counter()
        self.texts: dict[str, str] = {}
        self.lock = threading.Lock()
        self.reject: set[str] = set()

    def _send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        with self.lock:
            for sms in messages:
                self.handed[sms.message_id] += 1
                self.texts[sms.to] = sms.text
        return [
            SendResult(sms.message_id, False, error="unknown subscriber")
            if sms.to in self.reject
            else SendResult(sms.message_id, True, gateway_id=f"local-{sms.message_id}")
            for sms in messages
        ]


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> RecordingGateway:
    recording = RecordingGateway()
    monkeypatch.setattr(gateways, "get_gateway", lambda name=None: recording)
    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: recording)
    return recording


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    """Run a service as if its transaction committed: the tasks it starts run then
    (inline in tests), as they would after a real commit."""

    def run(service: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, **kwargs)

    return run


@pytest.fixture
def clients_list(account_a: Any) -> ContactList:
    customers = ContactList.objects.create(account=account_a, name="Clients")
    for index, number in enumerate([*FRENCH, BRITISH]):
        contact = Contact.objects.create(
            account=account_a,
            phone_number=number,
            region="GB" if number == BRITISH else "FR",
            first_name=["Léa", "Hugo", "", "Amy"][index],
            consent_basis="opt_in" if index != 1 else "",
        )
        contact.lists.add(customers)
    return customers


def make_campaign(account: Any, lists: list[ContactList], **kwargs: Any) -> Campaign:
    kwargs.setdefault("name", "Soldes")
    kwargs.setdefault("text", "Bonjour {first_name}, -20% ce week-end")
    kwargs.setdefault("sender_id", "BOUTIQUE")
    return campaign_create(account=account, lists=lists, **kwargs)


def test_launch_writes_each_recipients_exact_text_and_debits_once(
    account_a: Any, clients_list: ContactList, gateway: RecordingGateway, committed: Any
) -> None:
    BlacklistEntry.objects.create(account=account_a, phone_number=FRENCH[2], source="manual")
    campaign = make_campaign(account_a, [clients_list])
    campaign.lists.add(clients_list)

    plan = committed(launch_campaign, campaign, now=WEEKDAY_MORNING)

    assert (plan.recipients, plan.french, plan.international) == (3, 2, 1)
    assert plan.excluded == 1  # the blacklisted French number
    assert plan.no_consent == 1  # Hugo
    rows = {m.phone_number: m for m in Message.objects.filter(campaign=campaign)}
    assert set(rows) == {FRENCH[0], FRENCH[1], BRITISH}
    assert rows[FRENCH[0]].text == "Bonjour Léa, -20% ce week-end STOP 36034"
    assert rows[FRENCH[1]].text == "Bonjour Hugo, -20% ce week-end STOP 36034"
    link = account_a.unsubscribe_link
    assert rows[BRITISH].text == f"Bonjour Amy, -20% ce week-end {link}"
    assert rows[BRITISH].credits == 2  # rate ZZ = 2 credits per segment
    assert rows[FRENCH[0]].credits == 1
    assert plan.credits == 4
    debits = CreditEntry.objects.filter(account=account_a, kind=EntryKind.CAMPAIGN)
    assert [entry.amount for entry in debits] == [-4]
    account_a.refresh_from_db()
    assert account_a.credit_balance == 1000 - 4 == ledger_sum(account=account_a)


def test_launch_without_enough_credits_is_refused_with_figures_and_changes_nothing(
    account_a: Any, clients_list: ContactList, gateway: RecordingGateway, committed: Any
) -> None:
    poor = make_account(slug="poor", credits=3)
    poor_list = ContactList.objects.create(account=poor, name="All")
    for number in [*FRENCH, BRITISH]:
        contact = Contact.objects.create(
            account=poor, phone_number=number, region="GB" if number == BRITISH else "FR"
        )
        contact.lists.add(poor_list)
    campaign = make_campaign(poor, [poor_list], text="Promo")

    with pytest.raises(InsufficientCredits) as refused:
        committed(launch_campaign, campaign, now=WEEKDAY_MORNING)

    assert (refused.value.needed, refused.value.available) == (5, 3)
    assert "5 needed, 3 available" in refused.value.message
    campaign.refresh_from_db()
    poor.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not Message.objects.filter(campaign=campaign).exists()
    assert poor.credit_balance == 3 == ledger_sum(account=poor)
    assert gateway.handed == Counter()


def test_dispatch_sends_every_message_once_and_reports_complete_the_campaign(
    account_a: Any,
    clients_list: ContactList,
    gateway: RecordingGateway,
    settings: Any,
    committed: Any,
) -> None:
    settings.SMS_DISPATCH_BATCH = 2  # several batches for four messages
    Contact.objects.filter(phone_number=FRENCH[2]).update(phone_number="+33612345699")
    campaign = make_campaign(account_a, [clients_list])

    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)  # dispatch runs inline in tests

    assert sorted(gateway.handed.values()) == [1, 1, 1, 1]
    states = Counter(Message.objects.filter(campaign=campaign).values_list("state", flat=True))
    # The local gateway's simulated reports: numbers ending in 99 fail.
    assert states == {MessageState.DELIVERED: 3, MessageState.FAILED: 1}
    failed = Message.objects.get(campaign=campaign, state=MessageState.FAILED)
    assert failed.phone_number == "+33612345699"
    assert failed.error == "simulated: unknown subscriber"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.completed_at is not None


def test_a_number_blacklisted_mid_campaign_is_skipped_and_refunded(
    account_a: Any,
    clients_list: ContactList,
    gateway: RecordingGateway,
    settings: Any,
    committed: Any,
) -> None:
    settings.SMS_DISPATCH_BATCH = 2
    campaign = make_campaign(account_a, [clients_list])
    campaign.scheduled_at = WEEKDAY_MORNING + timedelta(hours=1)
    campaign.save()
    committed(
        launch_campaign, campaign, now=WEEKDAY_MORNING
    )  # scheduled: rows written, nothing sent
    assert gateway.handed == Counter()
    # The STOP arrives between the launch and the batch that carries the number.
    BlacklistEntry.objects.create(account=account_a, phone_number=BRITISH, source="stop_sms")
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.SENDING, started_at=timezone.now()
    )

    committed(dispatch_campaign, campaign.pk)

    british = Message.objects.get(campaign=campaign, phone_number=BRITISH)
    assert british.state == MessageState.SKIPPED
    assert british.id not in gateway.handed
    refund = CreditEntry.objects.get(account=account_a, kind=EntryKind.REFUND)
    assert refund.amount == british.credits == 2
    assert refund.reference.startswith(f"campaign:{campaign.pk}:skipped:")
    account_a.refresh_from_db()
    assert account_a.credit_balance == 1000 - 5 + 2 == ledger_sum(account=account_a)
    assert len(gateway.handed) == 3


def test_a_duplicated_dispatch_task_never_sends_a_message_twice(
    account_a: Any,
    clients_list: ContactList,
    gateway: RecordingGateway,
    settings: Any,
    committed: Any,
) -> None:
    settings.SMS_DISPATCH_BATCH = 1
    campaign = make_campaign(account_a, [clients_list])
    campaign.scheduled_at = WEEKDAY_MORNING + timedelta(hours=1)
    campaign.save()
    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)

    # The same task delivered twice (a broker redelivery, a double click...).
    committed(dispatch_campaign, campaign.pk)
    committed(dispatch_campaign, campaign.pk)
    committed(send_next_batch, campaign)

    assert sorted(gateway.handed.values()) == [1, 1, 1, 1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatch_tasks_on_postgresql_share_the_work_without_overlap(
    gateway: RecordingGateway, settings: Any, committed: Any
) -> None:
    settings.SMS_DISPATCH_BATCH = 7
    account = make_account(slug="busy", credits=10_000)
    audience = ContactList.objects.create(account=account, name="Many")
    Contact.objects.bulk_create(
        Contact(account=account, phone_number=f"+336123{index:05d}", region="FR")
        for index in range(400)
    )
    audience.contacts.set(Contact.objects.filter(account=account))
    campaign = make_campaign(account, [audience], text="Promo")
    campaign.scheduled_at = WEEKDAY_MORNING + timedelta(hours=1)
    campaign.save()
    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            dispatch_campaign(campaign.pk)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(gateway.handed) == 400
    assert set(gateway.handed.values()) == {1}
    assert (
        not Message.objects.filter(campaign=campaign)
        .exclude(state__in=[MessageState.DELIVERED, MessageState.FAILED])
        .exists()
    )


def test_a_crashed_workers_batch_is_picked_up_again_by_the_tick(
    account_a: Any,
    clients_list: ContactList,
    gateway: RecordingGateway,
    settings: Any,
    committed: Any,
) -> None:
    campaign = make_campaign(account_a, [clients_list])
    campaign.scheduled_at = WEEKDAY_MORNING + timedelta(hours=1)
    campaign.save()
    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)
    # A worker claimed two rows, then died before handing them over.
    dead_claim = Message.objects.filter(campaign=campaign).order_by("id")[:2]
    long_ago = timezone.now() - timedelta(seconds=settings.SMS_CLAIM_TIMEOUT + 1)
    Message.objects.filter(id__in=[m.id for m in dead_claim]).update(
        state=MessageState.SENDING, claim="dead-worker", claimed_at=long_ago
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.SENDING, dispatched_at=long_ago
    )
    # Dispatch alone leaves a live claim alone...
    committed(dispatch_campaign, campaign.pk)
    assert len(gateway.handed) == 2

    outcome = committed(tick)  # ...the tick releases the dead one and restarts dispatch.

    assert outcome["released"] == 2
    assert sorted(gateway.handed.values()) == [1, 1, 1, 1]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED


def test_gateway_rejections_fail_the_message_and_are_refunded(
    account_a: Any, clients_list: ContactList, gateway: RecordingGateway, committed: Any
) -> None:
    gateway.reject = {BRITISH}
    campaign = make_campaign(account_a, [clients_list])
    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)

    british = Message.objects.get(campaign=campaign, phone_number=BRITISH)
    assert british.state == MessageState.FAILED
    assert british.error == "unknown subscriber"
    refund = CreditEntry.objects.get(account=account_a, kind=EntryKind.REFUND)
    assert refund.amount == 2


@time_machine.travel(WEEKDAY_MORNING, tick=True)
def test_scheduled_campaign_starts_on_the_tick_after_its_time(
    account_a: Any, clients_list: ContactList, gateway: RecordingGateway, committed: Any
) -> None:
    soon = timezone.now() + timedelta(minutes=5)
    campaign = make_campaign(account_a, [clients_list], scheduled_at=soon)
    committed(launch_campaign, campaign, now=timezone.now())
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.credits == 5  # reserved at launch

    assert committed(tick)["started"] == 0
    assert gateway.handed == Counter()

    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now())
    assert committed(tick)["started"] == 1
    assert len(gateway.handed) == 4
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED


def test_pause_resume_and_cancel_refunds_what_was_not_sent(
    account_a: Any,
    clients_list: ContactList,
    gateway: RecordingGateway,
    settings: Any,
    committed: Any,
) -> None:
    settings.SMS_DISPATCH_BATCH = 1
    campaign = make_campaign(account_a, [clients_list])
    campaign.scheduled_at = WEEKDAY_MORNING + timedelta(hours=1)
    campaign.save()
    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.SENDING, started_at=timezone.now()
    )
    committed(send_next_batch, campaign)  # one message out
    committed(campaign_pause, campaign)
    assert committed(dispatch_campaign, campaign.pk) == 0  # paused: nothing more goes
    assert len(gateway.handed) == 1

    committed(campaign_resume, campaign)  # dispatch restarts inline
    assert len(gateway.handed) == 4
    with pytest.raises(CampaignError):
        committed(campaign_cancel, campaign)  # completed: nothing left to cancel


def test_cancel_refunds_every_queued_message(
    account_a: Any, clients_list: ContactList, gateway: RecordingGateway, committed: Any
) -> None:
    campaign = make_campaign(account_a, [clients_list])
    campaign.scheduled_at = WEEKDAY_MORNING + timedelta(hours=1)
    campaign.save()
    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)

    _, refunded = committed(campaign_cancel, campaign)

    assert refunded == 5
    assert set(Message.objects.filter(campaign=campaign).values_list("state", flat=True)) == {
        MessageState.CANCELLED
    }
    account_a.refresh_from_db()
    assert account_a.credit_balance == 1000 == ledger_sum(account=account_a)
    assert committed(tick)["started"] == 0


def test_marketing_sent_on_sunday_waits_for_monday_for_french_numbers_only(
    account_a: Any, clients_list: ContactList, gateway: RecordingGateway, committed: Any
) -> None:
    campaign = make_campaign(account_a, [clients_list])

    plan = committed(launch_campaign, campaign, now=SUNDAY)

    monday_8 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    assert plan.french_not_before == monday_8
    campaign.refresh_from_db()
    assert campaign.french_not_before == monday_8
    rows = Message.objects.filter(campaign=campaign)
    assert {m.phone_number: m.not_before for m in rows} == {
        FRENCH[0]: monday_8,
        FRENCH[1]: monday_8,
        FRENCH[2]: monday_8,
        BRITISH: None,
    }


def test_notification_accounts_are_exempt_from_the_sending_hours(
    notification_account: Any, gateway: RecordingGateway, committed: Any
) -> None:
    campaign = campaign_create(
        account=notification_account,
        name="Rappel",
        text="Votre rendez-vous est demain",
        numbers=[normalize_number(FRENCH[0])],
        add_stop_mention=False,
    )
    plan = committed(launch_campaign, campaign, now=SUNDAY)
    assert plan.french_not_before is None
    message = Message.objects.get(campaign=campaign)
    assert message.text == "Votre rendez-vous est demain"  # Notification, mention unticked
    assert message.not_before is None


def test_marketing_campaign_keeps_the_mention_even_if_asked_without(
    account_a: Any, gateway: RecordingGateway, committed: Any
) -> None:
    campaign = campaign_create(
        account=account_a,
        name="Promo",
        text="Promo",
        numbers=[normalize_number(FRENCH[0])],
        add_stop_mention=False,
    )
    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)
    assert Message.objects.get(campaign=campaign).text == "Promo STOP 36034"


def test_typed_numbers_join_the_lists_once_and_unknown_fields_are_refused(
    account_a: Any, clients_list: ContactList, gateway: RecordingGateway, committed: Any
) -> None:
    campaign = make_campaign(
        account_a,
        [clients_list],
        numbers=[normalize_number(FRENCH[0]), normalize_number("+33698765432")],
    )
    plan = plan_campaign(campaign, now=WEEKDAY_MORNING)
    assert plan.recipients == 5  # the four contacts and one new number, once each
    assert plan.no_consent == 2

    bad = make_campaign(account_a, [clients_list], text="Bonjour {prenom}")
    with pytest.raises(CampaignError, match=r"\{prenom\}"):
        committed(launch_campaign, bad, now=WEEKDAY_MORNING)
    assert not Message.objects.filter(campaign=bad).exists()


def test_launching_twice_is_refused(
    account_a: Any, clients_list: ContactList, gateway: RecordingGateway, committed: Any
) -> None:
    campaign = make_campaign(account_a, [clients_list])
    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)
    with pytest.raises(CampaignError) as refused:
        committed(launch_campaign, campaign, now=WEEKDAY_MORNING)
    assert refused.value.code == "not_draft"
    assert CreditEntry.objects.filter(kind=EntryKind.CAMPAIGN).count() == 1


def test_another_accounts_list_cannot_be_used(
    account_a: Any, account_b: Any, clients_list: ContactList
) -> None:
    with pytest.raises(CampaignError):
        campaign_create(account=account_b, name="x", text="x", lists=[clients_list])


def test_an_unreachable_kannel_puts_the_messages_back_in_the_queue(
    account_a: Any,
    clients_list: ContactList,
    monkeypatch: pytest.MonkeyPatch,
    committed: Any,
) -> None:
    import socket

    from campaigns.gateways.kannel import KannelGateway

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = KannelGateway(
        sendsms_url=f"http://127.0.0.1:{port}/cgi-bin/sendsms",
        username="u",
        password="p",
        report_url="http://127.0.0.1/r",
    )
    monkeypatch.setattr("campaigns.dispatch.get_gateway", lambda name=None: down)
    campaign = make_campaign(account_a, [clients_list])

    committed(launch_campaign, campaign, now=WEEKDAY_MORNING)

    states = set(Message.objects.filter(campaign=campaign).values_list("state", flat=True))
    assert states == {MessageState.QUEUED}  # not failed: nothing was sent
    assert not CreditEntry.objects.filter(kind=EntryKind.REFUND).exists()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
