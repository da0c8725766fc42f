"""Items 9 and 10: money under concurrency, and the same request twice.

9. 1,000 concurrent 1-credit debits against a balance of 500, from real threads with
   their own PostgreSQL connections: exactly 500 succeed, the balance is never below
   zero (watched while it happens, and in every entry's running balance), the ledger's
   sum is the balance. A campaign larger than the balance is refused before anything
   is written, with the figures, on the page, at launch and through the API.
10. "Launch" clicked twice (two POSTs of the form at once, one session) and the API's
   launch retried concurrently with one Idempotency-Key: one launch, one debit, every
   message handed to the gateway once; the same key for another campaign is refused.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts import services
from accounts.errors import InsufficientCredits
from accounts.models import Account, CreditEntry, EntryKind
from accounts.selectors import ledger_sum
from campaigns.gateways.local import LocalGateway
from campaigns.lifecycle import campaign_create
from campaigns.models import Campaign, CampaignStatus, Contact, Message
from campaigns.phone import normalize_number
from tests.api.conftest import client_with_key, error_of, key_for
from tests.builders import in_threads, make_account

THREADS = 20
DEBITS = 1000
BALANCE = 500


# -- item 9 ----------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_thousand_concurrent_debits_against_500_credits_exactly_500_succeed() -> None:
    account = make_account(slug="race", credits=BALANCE)
    watching = threading.Event()
    lowest: list[int] = []

    def watch() -> None:
        """Another session reads the balance all along: it never sees it below zero."""
        seen = BALANCE
        try:
            while not watching.is_set():
                seen = min(seen, Account.objects.values_list("credit_balance", flat=True).get(
                    pk=account.pk
                ))  # fmt: skip
        finally:
            lowest.append(seen)
            connection.close()

    def debit_share(worker: int) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        for index in range(DEBITS // THREADS):
            try:
                services.credits_debit(
                    account=Account.objects.get(pk=account.pk),
                    amount=1,
                    kind=EntryKind.MESSAGE,
                    reference=f"faults:debit:{worker}:{index}",
                )
                outcomes["debited"] += 1
            except InsufficientCredits as refusal:
                assert (refusal.needed, refusal.available) == (1, 0)
                outcomes["refused"] += 1
        return outcomes

    watcher = threading.Thread(target=watch)
    watcher.start()
    results = in_threads(THREADS, debit_share)
    watching.set()
    watcher.join()

    errors = [result for result in results if isinstance(result, BaseException)]
    assert errors == []
    total = sum(results, Counter())
    assert total == Counter(debited=BALANCE, refused=DEBITS - BALANCE)
    account.refresh_from_db()
    assert account.credit_balance == 0 == ledger_sum(account=account)
    assert lowest == [0] or lowest[0] >= 0
    running = 0
    for amount, balance_after in (
        CreditEntry.objects.filter(account=account).order_by("id").values_list(
            "amount", "balance_after"
        )
    ):  # fmt: skip
        running += amount
        assert balance_after == running >= 0
    assert CreditEntry.objects.filter(account=account, kind=EntryKind.MESSAGE).count() == BALANCE


@pytest.fixture
def big_campaign(db: Any) -> Campaign:
    """An account of 500 credits and a draft to 600 French contacts (600 credits)."""
    account = make_account(slug="shop", credits=BALANCE)
    Contact.objects.bulk_create(
        Contact(account=account, phone_number=f"+3361200{n:04d}", region="FR") for n in range(600)
    )
    return campaign_create(account=account, name="Soldes", text="Soldes d'hiver", all_contacts=True)


def owner_client(account: Account) -> Client:
    client = Client()
    client.force_login(account.memberships.get(role="owner").user)
    return client


def test_a_campaign_larger_than_the_balance_shows_the_figures_before_launch(
    big_campaign: Campaign,
) -> None:
    page = owner_client(big_campaign.account).get(f"/campaigns/{big_campaign.pk}/")

    html = page.content.decode()
    assert page.context["plan"].credits == 600
    assert "Not enough credits: 600 needed, 500 available." in html


def test_launching_it_is_refused_with_the_figures_and_writes_nothing(
    big_campaign: Campaign,
) -> None:
    account = big_campaign.account
    client = owner_client(account)
    entries = CreditEntry.objects.count()

    answer = client.post(f"/campaigns/{big_campaign.pk}/launch/", follow=True)
    api = client_with_key(key_for(account)).post(f"/api/v1/campaigns/{big_campaign.pk}/launch")

    assert (
        "Not launched: this campaign needs 600 credits and the account has 500. "
        "Buy 100 more credits or remove recipients."
    ) in answer.content.decode()
    assert api.status_code == 402
    assert error_of(api)["details"] == {"needed": 600, "available": 500}
    big_campaign.refresh_from_db()
    account.refresh_from_db()
    assert big_campaign.status == CampaignStatus.DRAFT
    assert not Message.objects.exists()
    assert account.credit_balance == BALANCE == ledger_sum(account=account)
    assert CreditEntry.objects.count() == entries


# -- item 10 --------------------------------------------------------------------------------


@pytest.fixture
def submissions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[int]]:
    """Every message id handed to the (local) gateway, counted: a spy, the real send runs."""
    counted: Counter[int] = Counter()
    lock = threading.Lock()
    real = LocalGateway._send

    def spy(self: LocalGateway, messages: Any) -> Any:
        with lock:
            counted.update(message.message_id for message in messages)
        return real(self, messages)

    monkeypatch.setattr(LocalGateway, "_send", spy)
    yield counted


def international_draft(account: Account, recipients: int = 30) -> Campaign:
    """International numbers leave at once, whatever the French sending hours."""
    numbers = [normalize_number(f"+44740012{n:04d}") for n in range(recipients)]
    return campaign_create(account=account, name="Sale", text="Sale today", numbers=numbers)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_launch_clicked_twice_launches_once(settings: Any, submissions: Counter[int]) -> None:
    settings.SMS_LOCAL_REPORTS = False
    account = make_account(slug="shop", credits=1000)
    campaign = international_draft(account)
    first = owner_client(account)
    second = Client()
    second.cookies = first.cookies  # the same browser session, two tabs or a double click

    answers = in_threads(2, lambda n: (first, second)[n].post(f"/campaigns/{campaign.pk}/launch/"))

    assert [answer.status_code for answer in answers] == [302, 302]
    messages = Message.objects.filter(campaign=campaign)
    assert messages.count() == 30
    assert set(submissions) == set(messages.values_list("pk", flat=True))
    assert set(submissions.values()) == {1}  # each handed to the gateway once
    assert CreditEntry.objects.filter(reference=f"campaign:{campaign.pk}:launch").count() == 1
    account.refresh_from_db()
    spent = sum(messages.values_list("credits", flat=True))
    assert account.credit_balance == 1000 - spent == ledger_sum(account=account)
    # The other click found the campaign launched (CampaignError "not_draft"); both
    # land on the campaign's page.
    assert {answer["Location"] for answer in answers} == {f"/campaigns/{campaign.pk}/"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_apis_launch_retried_with_one_key_launches_once(
    settings: Any, submissions: Counter[int]
) -> None:
    settings.SMS_LOCAL_REPORTS = False
    account = make_account(slug="shop", credits=1000)
    campaign = international_draft(account)
    other = international_draft(account, recipients=2)
    raw = key_for(account)

    answers = in_threads(
        6,
        lambda n: client_with_key(raw).post(
            f"/api/v1/campaigns/{campaign.pk}/launch", headers={"Idempotency-Key": "launch-7"}
        ),
    )
    reused = client_with_key(raw).post(
        f"/api/v1/campaigns/{other.pk}/launch", headers={"Idempotency-Key": "launch-7"}
    )

    assert [answer.status_code for answer in answers] == [200] * 6
    assert len({str(answer.json()) for answer in answers}) == 1
    assert sum("Idempotent-Replayed" not in answer for answer in answers) == 1
    assert Message.objects.filter(campaign=campaign).count() == 30
    assert set(submissions.values()) == {1} and len(submissions) == 30
    assert CreditEntry.objects.filter(kind=EntryKind.CAMPAIGN).count() == 1
    assert reused.status_code == 409
    assert error_of(reused)["code"] == "idempotency_key_reused"
    other.refresh_from_db()
    assert other.status == CampaignStatus.DRAFT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_apis_send_retried_with_one_key_sends_once_and_another_body_is_refused(
    settings: Any, submissions: Counter[int]
) -> None:
    settings.SMS_LOCAL_REPORTS = False
    account = make_account(slug="shop", credits=100)
    raw = key_for(account)
    body = {"to": "+447400123456", "text": "Your table is ready"}

    answers = in_threads(
        8,
        lambda n: client_with_key(raw).post(
            "/api/v1/messages", body, format="json", headers={"Idempotency-Key": "table-12"}
        ),
    )
    other_body = client_with_key(raw).post(
        "/api/v1/messages",
        {**body, "text": "Your table is NOT ready"},
        format="json",
        headers={"Idempotency-Key": "table-12"},
    )

    assert [answer.status_code for answer in answers] == [201] * 8
    assert Message.objects.filter(account=account).count() == 1
    assert list(submissions.values()) == [1]
    assert other_body.status_code == 409
    assert Message.objects.filter(account=account).count() == 1
    account.refresh_from_db()
    (message,) = Message.objects.filter(account=account)
    assert account.credit_balance == 100 - message.credits == ledger_sum(account=account)


def test_save_and_review_clicked_twice_sends_nothing(
    client_a: Client, account_a: Account, submissions: Counter[int]
) -> None:
    """The compose page only saves drafts: a double click makes two drafts, never a
    message (launching is a separate, guarded, step)."""
    form = {"action": "save", "name": "x", "text": "Promo", "recipients": "+447400123456"}

    client_a.post("/campaigns/new/", form)
    client_a.post("/campaigns/new/", form)

    assert not Message.objects.exists()
    assert not submissions
    assert set(Campaign.objects.values_list("status", flat=True)) == {CampaignStatus.DRAFT}
