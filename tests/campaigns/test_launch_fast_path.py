"""PostgreSQL's fast launch (one INSERT ... SELECT for a text without fields) writes
exactly the rows, figures and debit of the row-by-row launch, on the same recipients."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from accounts.models import CreditEntry, EntryKind
from blacklist.models import BlacklistEntry
from campaigns import launch
from campaigns.lifecycle import campaign_create
from campaigns.models import Contact, ContactList, Message
from campaigns.phone import normalize_number
from campaigns.preview import stop_rules
from tests.builders import make_account

pytestmark = pytest.mark.postgres

SUNDAY = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # French part deferred to Monday 08:00
COLUMNS = (
    "phone_number",
    "region",
    "sender_id",
    "text",
    "ucs2",
    "segments",
    "credits",
    "marketing",
    "state",
    "not_before",
)


def recipients(account: Any) -> list[ContactList]:
    first = ContactList.objects.create(account=account, name="Paris")
    second = ContactList.objects.create(account=account, name="Londres")
    people = [
        ("+33612345601", "FR", "opt_in", [first]),
        ("+33612345602", "FR", "", [first, second]),  # in both lists: once
        ("+33612345603", "FR", "", [first]),  # blacklisted: left out
        ("+447400123456", "GB", "opt_in", [second]),
        ("+12025550123", "US", "", [second]),
        ("+33612345609", "FR", "opt_in", []),  # in no list: not a recipient
    ]
    for number, region, consent, lists in people:
        contact = Contact.objects.create(
            account=account, phone_number=number, region=region, consent_basis=consent
        )
        contact.lists.add(*lists)
    BlacklistEntry.objects.create(account=account, phone_number="+33612345603")
    BlacklistEntry.objects.create(account=account, phone_number="+33699999999")
    return [first, second]


def launched(account: Any, lists: list[ContactList], *, fast: bool, **kwargs: Any) -> tuple:
    campaign = campaign_create(
        account=account,
        name="Hiver",
        text=kwargs.pop("text", "Soldes d’hiver : -30 % ce week-end"),
        sender_id="BOUTIQUE",
        lists=lists,
        numbers=[
            normalize_number(number)
            for number in (
                "+33612345601",  # typed and in a list: once
                "+33699999999",  # typed and blacklisted: left out
                "+33611111111",  # typed only
                "+4915112345678",  # typed only, abroad
            )
        ],
        **kwargs,
    )
    original, insert = launch._fast_path, launch._insert_contacts
    took_fast_path: list[bool] = []

    def spying_insert(*args: Any) -> None:
        took_fast_path.append(True)
        insert(*args)

    launch._insert_contacts = spying_insert
    if not fast:
        launch._fast_path = lambda c: False
    try:
        plan = launch.launch_campaign(campaign, now=SUNDAY)
    finally:
        launch._fast_path, launch._insert_contacts = original, insert
    assert took_fast_path == ([True] if fast else [])
    link = stop_rules(account, requested=True).unsubscribe_link  # differs per account
    rows = sorted(
        (number, region, sender, text.replace(link, "<link>"), *rest)
        for number, region, sender, text, *rest in Message.objects.filter(
            campaign=campaign
        ).values_list(*COLUMNS)
    )
    debit = CreditEntry.objects.get(
        reference=f"campaign:{campaign.pk}:launch", kind=EntryKind.CAMPAIGN
    )
    campaign.refresh_from_db()
    figures = (
        campaign.recipient_count,
        campaign.excluded_count,
        campaign.no_consent_count,
        campaign.credits,
        campaign.french_not_before,
    )
    return plan, rows, debit.amount, figures


@pytest.mark.parametrize(
    "text",
    [
        "Soldes d’hiver : -30 % ce week-end",  # UCS-2 because of ’
        "Soldes d'hiver : -30 % ce week-end " + "x" * 130,  # two SMS in France
    ],
)
def test_the_fast_launch_writes_what_the_row_by_row_launch_writes(db: Any, text: str) -> None:
    fast_account = make_account(slug="fast", credits=1000)
    slow_account = make_account(slug="slow", credits=1000)

    fast_plan, fast_rows, fast_debit, fast_figures = launched(
        fast_account, recipients(fast_account), fast=True, text=text
    )
    slow_plan, slow_rows, slow_debit, slow_figures = launched(
        slow_account, recipients(slow_account), fast=False, text=text
    )

    assert fast_rows == slow_rows
    assert [row[0] for row in fast_rows] == sorted(
        [
            "+33612345601",
            "+33612345602",
            "+447400123456",
            "+12025550123",
            "+33611111111",
            "+4915112345678",
        ]
    )
    assert {row[9] is not None for row in fast_rows if row[1] == "FR"} == {True}  # Sunday
    assert {row[9] for row in fast_rows if row[1] != "FR"} == {None}
    assert fast_debit == slow_debit < 0
    assert fast_figures == slow_figures
    for name in (
        "recipients",
        "french",
        "international",
        "credits",
        "french_credits",
        "international_credits",
        "segments",
        "ucs2",
        "excluded",
        "no_consent",
        "by_region",
        "french_not_before",
    ):
        assert getattr(fast_plan, name) == getattr(slow_plan, name), name
    assert fast_plan.recipients == 6
    assert fast_plan.excluded == 2
    assert fast_plan.no_consent == 4  # 2 contacts without consent, 2 typed numbers


def test_a_text_with_fields_takes_the_row_by_row_path(db: Any) -> None:
    account = make_account(slug="fields", credits=1000)
    campaign = campaign_create(account=account, name="x", text="Bonjour {first_name}")
    plain = campaign_create(account=account, name="y", text="Bonjour")

    assert not launch._fast_path(campaign)
    assert launch._fast_path(plain)
