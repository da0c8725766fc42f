"""Item 12: which account a STOP belongs to, through the real paths.

Messages go out through the API and dispatch (the local gateway), which record who
last reached each number; the STOP comes in through Kannel's webhook. A STOP from a
number that two accounts messaged lands only on the one whose marketing message was
the most recent, whichever came first; a later informative message of a Notification
account does not take it; a message older than SMS_ATTRIBUTION_DAYS does not count;
a STOP with no message before it waits for support staff in the unattributed queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Account, AccountType, CreditEntry, EntryKind
from blacklist.models import BlacklistEntry, GatewayKind, InboundMessage, InboundStatus
from blacklist.services import confirmation_text, connection_create
from campaigns.models import Message, MessageState
from tests.api.conftest import client_with_key, key_for
from tests.builders import make_account

pytestmark = pytest.mark.django_db

NUMBER = "+33612345678"
# A Tuesday morning in Paris: French marketing messages leave at once.
MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def token() -> str:
    return connection_create(name="kannel-orange", kind=GatewayKind.KANNEL)[1]


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def send(account: Account, capture: Any, text: str = "Soldes d'hiver -20%") -> Message:
    """One SMS through the API, handed to the gateway at once (dispatch, inline)."""
    with capture(execute=True):
        answer = client_with_key(key_for(account)).post(
            "/api/v1/messages", {"to": "06 12 34 56 78", "text": text}, format="json"
        )
    assert answer.status_code == 201, answer.content
    message = Message.objects.get(pk=answer.json()["id"])
    assert message.state in {MessageState.SENT, MessageState.DELIVERED}  # handed over
    return message


def stop(token: str, capture: Any, carrier_id: str = "stop-1") -> InboundMessage:
    with capture(execute=True):
        answer = Client().get(
            reverse("kannel-inbound", args=[token]),
            {"id": carrier_id, "from": NUMBER, "to": "36034", "text": "STOP"},
        )
    assert answer.status_code == 200
    return InboundMessage.objects.get(carrier_id=carrier_id)


def effects(account: Account) -> tuple[int, int, int]:
    """(Blacklist entries, confirmations, confirmation debits) of the account."""
    return (
        BlacklistEntry.objects.filter(account=account).count(),
        Message.objects.filter(account=account, text=confirmation_text(account.name, "FR")).count(),
        CreditEntry.objects.filter(account=account, kind=EntryKind.STOP_CONFIRMATION).count(),
    )


@pytest.mark.parametrize("latest", ["first-account", "second-account"])
def test_a_stop_lands_only_on_the_account_that_messaged_the_number_last(
    token: str, clock: Any, django_capture_on_commit_callbacks: Any, latest: str
) -> None:
    shop = make_account(slug="shop", credits=10)
    bakery = make_account(slug="bakery", credits=10)
    order = [shop, bakery] if latest == "second-account" else [bakery, shop]
    for account in order:
        send(account, django_capture_on_commit_callbacks)
        clock.shift(timedelta(hours=1))

    inbound = stop(token, django_capture_on_commit_callbacks)

    last, earlier = order[1], order[0]
    assert (inbound.status, inbound.account) == (InboundStatus.BLACKLISTED, last)
    assert effects(last) == (1, 1, 1)
    assert effects(earlier) == (0, 0, 0)


def test_an_informative_message_sent_later_does_not_take_the_stop(
    token: str, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    shop = make_account(slug="shop", credits=10)
    clinic = make_account(slug="clinic", credits=10, account_type=AccountType.NOTIFICATION)
    send(shop, django_capture_on_commit_callbacks)
    clock.shift(timedelta(hours=1))
    reminder = send(clinic, django_capture_on_commit_callbacks, text="RDV demain 9h")
    assert not reminder.marketing
    clock.shift(timedelta(hours=1))

    inbound = stop(token, django_capture_on_commit_callbacks)

    assert inbound.account == shop
    assert effects(shop) == (1, 1, 1)
    assert effects(clinic) == (0, 0, 0)


def test_a_message_older_than_the_attribution_window_does_not_count(
    token: str, clock: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    shop = make_account(slug="shop", credits=10)
    send(shop, django_capture_on_commit_callbacks)
    clock.shift(timedelta(days=settings.SMS_ATTRIBUTION_DAYS, hours=1))

    inbound = stop(token, django_capture_on_commit_callbacks)

    assert (inbound.status, inbound.account) == (InboundStatus.UNATTRIBUTED, None)
    assert effects(shop) == (0, 0, 0)


def test_a_stop_with_no_message_before_it_waits_in_the_unattributed_queue(
    token: str, clock: Any, django_capture_on_commit_callbacks: Any, staff_client: Client
) -> None:
    shop = make_account(slug="shop", credits=10)
    balance = shop.credit_balance

    inbound = stop(token, django_capture_on_commit_callbacks)

    assert (inbound.status, inbound.account) == (InboundStatus.UNATTRIBUTED, None)
    assert not BlacklistEntry.objects.exists()
    assert not Message.objects.exists()
    shop.refresh_from_db()
    assert shop.credit_balance == balance
    queue = staff_client.get(reverse("admin:blacklist_unattributedstop_changelist"))
    assert [row.pk for row in queue.context["cl"].result_list] == [inbound.pk]
