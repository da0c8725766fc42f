"""Replies through the Kannel inbound webhook: authentication, bad requests kept for
support, exactly-once storage, attribution, and everything a STOP does (Blacklist entry,
lists, cancelled and refunded messages, one confirmation at 1 credit), START, HELP."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, CreditEntry, EntryKind
from accounts.selectors import ledger_sum
from blacklist.models import (
    BlacklistEntry,
    BlacklistEvent,
    BlacklistSource,
    GatewayConnection,
    GatewayKind,
    InboundMessage,
    InboundStatus,
    RejectedInbound,
)
from blacklist.services import assign_unattributed, blacklist_number, connection_create
from campaigns.dispatch import _remember_sent
from campaigns.models import Contact, ContactList, Message, MessageState
from tests.builders import make_account

NUMBER = "+33612345678"


@pytest.fixture
def kannel(db: Any) -> tuple[GatewayConnection, str]:
    return connection_create(name="kannel-orange", kind=GatewayKind.KANNEL)


@pytest.fixture
def post(
    client: Client, kannel: tuple[GatewayConnection, str], django_capture_on_commit_callbacks: Any
) -> Callable[..., Any]:
    """GET the webhook as Kannel's get-url does; the commit's tasks run (the SMS leaves)."""

    def call(token: str | None = None, **params: str) -> Any:
        params.setdefault("to", "36034")
        url = reverse("kannel-inbound", args=[token or kannel[1]])
        with django_capture_on_commit_callbacks(execute=True):
            return client.get(url, params)

    return call


def sent_message(
    account: Account,
    number: str = NUMBER,
    *,
    ago: timedelta = timedelta(hours=1),
    marketing: bool = True,
    state: MessageState = MessageState.SENT,
    credits: int = 1,
) -> Message:
    message = Message.objects.create(
        account=account,
        phone_number=number,
        region="FR",
        text="Soldes -20% STOP 36034",
        segments=1,
        credits=credits,
        marketing=marketing,
        state=state,
        sent_at=timezone.now() - ago if state != MessageState.QUEUED else None,
    )
    if message.sent_at:
        _remember_sent([message.pk])  # as dispatch does for each batch it hands over
    return message


def test_an_unknown_token_is_refused_and_nothing_is_stored(post: Any) -> None:
    answer = post("not-the-token", id="1", **{"from": NUMBER}, text="STOP")

    assert answer.status_code == 403
    assert not InboundMessage.objects.exists()
    assert not RejectedInbound.objects.exists()


def test_a_rotated_secret_stops_working(post: Any, kannel: Any) -> None:
    from blacklist.services import connection_rotate

    connection, old = kannel
    new = connection_rotate(connection)

    assert post(old, id="1", **{"from": NUMBER}, text="hi").status_code == 403
    assert post(new, id="2", **{"from": NUMBER}, text="hi").status_code == 200
    assert GatewayConnection.objects.get().secret_hash != old  # only a hash is kept


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": NUMBER, "text": "STOP"}, "missing id"),
        ({"id": "x" * 101, "from": NUMBER, "text": "STOP"}, "id longer than 100"),
        ({"id": "7", "from": "not a number", "text": "STOP"}, "unreadable sender number"),
        ({"id": "7", "from": "", "text": "STOP"}, "unreadable sender number"),
        ({"id": "7", "from": NUMBER, "text": "a" * 39_016}, "text longer than 39015"),
        ({"id": "7", "from": NUMBER, "text": "STOP\x00"}, "contains a NUL character"),
    ],
)
def test_unreadable_requests_get_400_with_the_reason_and_are_kept(
    post: Any, params: dict, reason: str
) -> None:
    answer = post(**params)

    assert answer.status_code == 400
    assert reason in answer.content.decode()
    rejected = RejectedInbound.objects.get()
    assert reason in rejected.reason
    assert "GET /webhooks/kannel/inbound/" in rejected.raw
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("raw", ["+33612345678", "0033612345678", "33612345678", "0612345678"])
def test_the_sender_is_read_in_every_form_kannel_gives(post: Any, raw: str) -> None:
    assert post(id="1", **{"from": raw}, text="Bonjour").status_code == 200
    assert InboundMessage.objects.get().sender == NUMBER


def test_a_stop_blacklists_the_number_on_the_account_that_last_messaged_it(post: Any) -> None:
    older = make_account(slug="older", credits=10)
    recent = make_account(slug="recent", credits=10)
    sent_message(older, ago=timedelta(days=3))
    answered = sent_message(recent, ago=timedelta(hours=2))
    sent_message(make_account(slug="notif", credits=10), marketing=False, ago=timedelta(hours=1))

    answer = post(id="kannel-1", **{"from": NUMBER}, text="Stop merci")

    assert answer.status_code == 200
    inbound = InboundMessage.objects.get()
    assert (inbound.account, inbound.answers_id, inbound.status) == (
        recent,
        answered.pk,
        InboundStatus.BLACKLISTED,
    )
    entry = BlacklistEntry.objects.get()
    assert (entry.account, entry.phone_number, entry.source, entry.inbound) == (
        recent,
        NUMBER,
        BlacklistSource.STOP_SMS,
        inbound,
    )
    assert not BlacklistEntry.objects.filter(account=older).exists()
    assert BlacklistEvent.objects.get().action == BlacklistEvent.Action.ADDED


def test_a_stop_sends_one_confirmation_and_debits_one_credit(post: Any) -> None:
    account = make_account(slug="shop", name="Boutique Léa", credits=10)
    sent_message(account)

    post(id="1", **{"from": NUMBER}, text="STOP")

    entry = BlacklistEntry.objects.get()
    confirmation = entry.confirmation
    assert confirmation is not None
    assert confirmation.text == (
        "Vous ne recevrez plus de SMS de Boutique Léa. Desinscription confirmee."
    )
    assert "STOP" not in confirmation.text  # a platform message: no mention
    assert (confirmation.campaign, confirmation.marketing, confirmation.credits) == (None, False, 1)
    assert confirmation.gateway == "local"  # handed to the gateway
    assert confirmation.state in {MessageState.SENT, MessageState.DELIVERED}
    debit = CreditEntry.objects.get(kind=EntryKind.STOP_CONFIRMATION)
    assert (debit.amount, debit.reference) == (-1, f"stop-confirmation:{entry.pk}")
    account.refresh_from_db()
    assert account.credit_balance == 9 == ledger_sum(account=account)


def test_an_international_number_gets_the_english_confirmation(post: Any) -> None:
    account = make_account(slug="shop", name="Shop", credits=10)
    sent_message(account, "+447400123456")

    post(id="1", **{"from": "+447400123456"}, text="STOP")

    assert BlacklistEntry.objects.get().confirmation.text == (
        "You will no longer receive SMS from Shop. Unsubscribed."
    )


def test_the_confirmation_is_sent_even_from_an_empty_account(post: Any) -> None:
    account = make_account(slug="empty", credits=0)
    sent_message(account)

    post(id="1", **{"from": NUMBER}, text="STOP")

    account.refresh_from_db()
    assert account.credit_balance == -1 == ledger_sum(account=account)
    assert BlacklistEntry.objects.get().confirmation.gateway == "local"


def test_the_carriers_retry_of_the_same_id_changes_nothing(post: Any) -> None:
    account = make_account(slug="shop", credits=10)
    sent_message(account)

    first = post(id="same", **{"from": NUMBER}, text="STOP")
    again = post(id="same", **{"from": NUMBER}, text="STOP")

    assert (first.status_code, again.status_code) == (200, 200)
    assert "already received" in again.content.decode()
    assert InboundMessage.objects.count() == 1
    assert BlacklistEntry.objects.count() == 1
    assert Message.objects.filter(campaign=None, marketing=False).count() == 1
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1


def test_a_second_stop_from_a_blacklisted_number_sends_and_debits_nothing(post: Any) -> None:
    account = make_account(slug="shop", credits=10)
    sent_message(account)

    post(id="1", **{"from": NUMBER}, text="STOP")
    post(id="2", **{"from": NUMBER}, text="stop!!")

    assert list(InboundMessage.objects.order_by("id").values_list("status", flat=True)) == [
        InboundStatus.BLACKLISTED,
        InboundStatus.ALREADY,
    ]
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1
    account.refresh_from_db()
    assert account.credit_balance == 9


def test_a_stop_takes_the_number_out_of_the_lists_and_cancels_and_refunds_its_queue(
    post: Any,
) -> None:
    account = make_account(slug="shop", credits=10)
    other = make_account(slug="other", credits=10)
    customers = ContactList.objects.create(account=account, name="Clients")
    contact = Contact.objects.create(
        account=account, phone_number=NUMBER, region="FR", consent_basis="opt_in"
    )
    contact.lists.add(customers)
    sent_message(account)
    queued = [sent_message(account, state=MessageState.QUEUED, credits=2) for _ in range(2)]
    others_queue = sent_message(other, state=MessageState.QUEUED, ago=timedelta(days=9))
    account.refresh_from_db()
    balance = account.credit_balance

    post(id="1", **{"from": NUMBER}, text="Désabonnez-moi")

    assert not contact.lists.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()  # the contact stays, off the lists
    for message in queued:
        message.refresh_from_db()
        assert message.state == MessageState.CANCELLED
    others_queue.refresh_from_db()
    assert others_queue.state == MessageState.QUEUED  # another account's messages go on
    account.refresh_from_db()
    assert account.credit_balance == balance + 4 - 1 == ledger_sum(account=account)
    assert BlacklistEntry.objects.get().revoked_consent == "opt_in"


def test_a_stop_nobody_can_be_found_for_waits_for_support_staff(post: Any, admin_user: Any) -> None:
    account = make_account(slug="shop", credits=10)
    sent_message(account, ago=timedelta(days=400))  # outside the 12-month window

    post(id="1", **{"from": NUMBER}, text="STOP")

    inbound = InboundMessage.objects.get()
    assert (inbound.status, inbound.account) == (InboundStatus.UNATTRIBUTED, None)
    assert not BlacklistEntry.objects.exists()

    assert assign_unattributed(inbound, account, admin_user) == InboundStatus.BLACKLISTED
    inbound.refresh_from_db()
    assert (inbound.account, inbound.assigned_by) == (account, admin_user)
    assert BlacklistEntry.objects.get(account=account).confirmation is not None
    # Assigning again does nothing more.
    assert assign_unattributed(inbound, account, admin_user) == InboundStatus.BLACKLISTED
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1


def test_start_removes_an_entry_a_stop_made_but_never_a_manual_one(post: Any) -> None:
    account = make_account(slug="shop", credits=10)
    sent_message(account)
    sent_message(account, "+33611111111")
    post(id="1", **{"from": NUMBER}, text="STOP")
    blacklist_number(
        account=account, number="+33611111111", source=BlacklistSource.MANUAL, confirm=False
    )

    post(id="2", **{"from": NUMBER}, text="START")
    post(id="3", **{"from": "+33611111111"}, text="START")

    assert list(BlacklistEntry.objects.values_list("phone_number", flat=True)) == ["+33611111111"]
    statuses = dict(InboundMessage.objects.values_list("carrier_id", "status"))
    assert statuses == {
        "1": InboundStatus.BLACKLISTED,
        "2": InboundStatus.RESUBSCRIBED,
        "3": InboundStatus.START_IGNORED,
    }
    removed = BlacklistEvent.objects.get(action=BlacklistEvent.Action.REMOVED)
    assert (removed.phone_number, removed.reason) == (NUMBER, "START reply")


def test_ordinary_replies_and_help_are_kept_with_the_campaign_they_answer(post: Any) -> None:
    account = make_account(slug="shop", credits=10)
    sent_message(account)

    post(id="1", **{"from": NUMBER}, text="Christophe, c'est ouvert dimanche ?")
    post(id="2", **{"from": NUMBER}, text="AIDE")
    post(id="3", **{"from": "+33699999999"}, text="Qui est-ce ?")

    statuses = dict(InboundMessage.objects.values_list("carrier_id", "status"))
    assert statuses == {
        "1": InboundStatus.REPLY,
        "2": InboundStatus.HELP,
        "3": InboundStatus.UNKNOWN_SENDER,
    }
    assert not BlacklistEntry.objects.exists()
    assert InboundMessage.objects.get(carrier_id="1").account == account


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_the_same_stop_apply_it_once(live_server: Any) -> None:
    _connection, token = connection_create(name="kannel-sfr", kind=GatewayKind.KANNEL)
    account = make_account(slug="shop", credits=5)
    sent_message(account)
    url = f"{live_server.url}{reverse('kannel-inbound', args=[token])}"
    statuses: list[int] = []
    lock = threading.Lock()

    def deliver(carrier_id: str) -> None:
        import urllib.request
        from urllib.parse import urlencode

        query = urlencode({"id": carrier_id, "from": NUMBER, "to": "36034", "text": "STOP"})
        with urllib.request.urlopen(f"{url}?{query}", timeout=30) as answer:  # noqa: S310
            with lock:
                statuses.append(answer.status)

    # The same carrier id 16 times, and 4 other ids for the same number, at once.
    threads = [threading.Thread(target=deliver, args=("dup",)) for _ in range(16)]
    threads += [threading.Thread(target=deliver, args=(f"other-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db_connection.close()

    assert statuses == [200] * 20
    assert InboundMessage.objects.count() == 5
    assert BlacklistEntry.objects.count() == 1
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1
    assert Message.objects.filter(campaign=None, marketing=False).count() == 1
    account.refresh_from_db()
    assert account.credit_balance == 4 == ledger_sum(account=account)
