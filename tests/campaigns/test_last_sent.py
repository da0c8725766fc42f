"""Dispatch keeps LastSent (who last reached a number with a marketing message), which
a STOP's attribution and the unsubscribe page read instead of scanning messages."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from accounts.models import AccountType
from blacklist.services import attribute
from campaigns.launch import launch_campaign
from campaigns.models import ContactList, LastSent
from tests.builders import make_account
from tests.campaigns.test_dispatch import WEEKDAY_MORNING, make_campaign
from tests.campaigns.test_dispatch import gateway as gateway  # the recording gateway fixture

pytestmark = pytest.mark.django_db


def recipients(account: Any) -> ContactList:
    from campaigns.models import Contact

    customers = ContactList.objects.create(account=account, name="Clients")
    for number in ("+33612345601", "+33612345602"):
        Contact.objects.create(account=account, phone_number=number, region="FR").lists.add(
            customers
        )
    return customers


@pytest.mark.usefixtures("gateway")
def test_the_last_marketing_sender_of_each_number_is_kept(
    django_capture_on_commit_callbacks: Any,
) -> None:
    def committed(service: Any, *args: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args)

    first = make_account(slug="first", credits=100)
    second = make_account(slug="second", credits=100)
    notifier = make_account(slug="notif", credits=100, account_type=AccountType.NOTIFICATION)
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        committed(launch_campaign, make_campaign(first, [recipients(first)], text="Soldes"))
    with time_machine.travel(WEEKDAY_MORNING.replace(hour=10), tick=False):
        later = make_campaign(second, [recipients(second)], text="Promo")
        committed(launch_campaign, later)
        committed(launch_campaign, make_campaign(notifier, [recipients(notifier)], text="RDV"))

    rows = {
        (number, account_id, marketing_at is None)
        for number, account_id, marketing_at in LastSent.objects.values_list(
            "phone_number", "account_id", "marketing_at"
        )
    }
    assert rows == {
        (number, account.pk, account == notifier)
        for number in ("+33612345601", "+33612345602")
        for account in (first, second, notifier)
    }  # every sender is kept; a notification is no marketing message
    with time_machine.travel(WEEKDAY_MORNING.replace(hour=11), tick=False):
        found = attribute("+33612345601")
    assert found is not None
    assert (found.account_id, found.campaign_id) == (second.pk, later.pk)

    # The first account messages the number again: it becomes the last one.
    with time_machine.travel(WEEKDAY_MORNING.replace(hour=12), tick=False):
        again = make_campaign(first, [ContactList.objects.get(account=first)], text="Relance")
        committed(launch_campaign, again)
        assert attribute("+33612345601").campaign_id == again.pk
    assert LastSent.objects.count() == 6


@pytest.mark.usefixtures("gateway")
def test_a_single_message_never_moves_the_marketing_sender(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from campaigns.dispatch import send_messages
    from campaigns.models import Message

    shop = make_account(slug="shop", credits=100)
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            campaign = make_campaign(shop, [recipients(shop)], text="Soldes")
            launch_campaign(campaign)
    with time_machine.travel(WEEKDAY_MORNING.replace(hour=15), tick=False):
        confirmation = Message.objects.create(
            account=shop, phone_number="+33612345601", region="FR", text="STOP reçu",
            segments=1, credits=1, marketing=False,
        )  # fmt: skip
        send_messages([confirmation.pk])

    row = LastSent.objects.get(phone_number="+33612345601")
    assert row.sent_at == WEEKDAY_MORNING.replace(hour=15)  # the confirmation, the latest
    assert row.marketing_at == WEEKDAY_MORNING  # still the campaign's
    assert row.campaign_id == campaign.pk
