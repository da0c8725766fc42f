"""`/api/v1/campaigns`: drafts, launch (402 with the figures, idempotent), pause, resume,
cancel and statistics, through the same services as the pages; another account's
campaign is a 404 everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import Account, CreditEntry, EntryKind
from accounts.services import credits_debit
from campaigns.models import Campaign, CampaignStatus, ContactList, Message
from campaigns.services import contact_create
from tests.api.conftest import error_of

PARIS = ZoneInfo("Europe/Paris")
OPEN = datetime(2026, 11, 30, 15, 0, tzinfo=PARIS)  # a Monday afternoon


@pytest.fixture(autouse=True)
def _monday_afternoon() -> Any:
    with time_machine.travel(OPEN, tick=False):
        yield


@pytest.fixture
def customers(account_a: Account) -> ContactList:
    shop = ContactList.objects.create(account=account_a, name="Customers")
    for number, name in [("0612345678", "Camille"), ("0798765432", "Léa"), ("+447400123456", "Ed")]:
        contact_create(account=account_a, phone_number=number, first_name=name).lists.add(shop)
    return shop


def draft(api: APIClient, **extra: Any) -> dict[str, Any]:
    response = api.post(
        "/api/v1/campaigns", {"name": "Soldes", "text": "Bonjour {first_name} !", **extra}
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_draft_is_created_with_nothing_sent_or_debited(
    api_a: APIClient, account_a: Account, customers: ContactList
) -> None:
    body = draft(api_a, lists=[customers.pk], numbers=["06 00 00 00 01"])

    assert body["status"] == "draft"
    assert body["lists"] == [customers.pk]
    assert body["numbers"] == ["+33600000001"]
    assert body["stop_mention"] is True
    assert not Message.objects.exists()
    account_a.refresh_from_db()
    assert account_a.credit_balance == 1000


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({}, "non_field_errors"),
        ({"all_contacts": True, "text": "Hi {city}"}, "text"),
        ({"all_contacts": True, "send_at": "2026-11-30T10:00:00+01:00"}, "send_at"),
        ({"numbers": ["12"]}, "numbers"),
        ({"all_contacts": "yes"}, "all_contacts"),
    ],
)
def test_a_bad_draft_is_refused_field_by_field(
    api_a: APIClient, extra: dict[str, Any], field: str
) -> None:
    response = api_a.post("/api/v1/campaigns", {"name": "x", "text": "Hi", **extra})

    assert response.status_code == 422
    assert field in error_of(response)["details"]
    assert not Campaign.objects.exists()


def test_another_accounts_list_is_unknown(api_b: APIClient, customers: ContactList) -> None:
    response = api_b.post("/api/v1/campaigns", {"name": "x", "text": "Hi", "lists": [customers.pk]})

    assert response.status_code == 422
    assert "lists" in error_of(response)["details"]
    assert not Campaign.objects.exists()


def test_a_marketing_campaign_without_the_stop_mention_is_refused(api_a: APIClient) -> None:
    response = api_a.post(
        "/api/v1/campaigns",
        {"name": "x", "text": "Hi", "all_contacts": True, "stop_mention": False},
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "stop_mention_required"
    assert not Campaign.objects.exists()


def test_launch_writes_every_message_debits_once_and_sends(
    api_a: APIClient,
    account_a: Account,
    customers: ContactList,
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = draft(api_a, lists=[customers.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.post(f"/api/v1/campaigns/{campaign['id']}/launch")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["recipients"], body["credits"]) == (3, 4)  # 1 + 1 in France, 2 abroad
    assert body["status"] in {"sending", "completed"}
    texts = set(Message.objects.values_list("text", flat=True))
    assert "Bonjour Camille ! STOP 36034" in texts
    entry = CreditEntry.objects.get(reference=f"campaign:{campaign['id']}:launch")
    assert entry.amount == -4
    stats = api_a.get(f"/api/v1/campaigns/{campaign['id']}/statistics").json()
    assert stats["total"] == 3
    assert stats["delivered"] == 3  # the local gateway's simulated reports
    assert stats["delivery_rate"] == 100.0


def test_launch_with_too_few_credits_is_a_402_with_the_figures_and_writes_nothing(
    api_a: APIClient, account_a: Account, customers: ContactList
) -> None:
    campaign = draft(api_a, lists=[customers.pk])
    credits_debit(account=account_a, amount=997, kind=EntryKind.ADJUSTMENT, reference="spent")

    response = api_a.post(f"/api/v1/campaigns/{campaign['id']}/launch")

    assert response.status_code == 402
    error = error_of(response)
    assert error["code"] == "insufficient_credits"
    assert error["details"] == {"needed": 4, "available": 3}
    assert Campaign.objects.get().status == CampaignStatus.DRAFT
    assert not Message.objects.exists()
    account_a.refresh_from_db()
    assert account_a.credit_balance == 3


def test_a_launch_retried_with_its_key_is_replayed_and_without_it_is_a_409(
    api_a: APIClient, customers: ContactList
) -> None:
    campaign = draft(api_a, lists=[customers.pk])
    url = f"/api/v1/campaigns/{campaign['id']}/launch"

    first = api_a.post(url, headers={"Idempotency-Key": "launch-1"})
    retry = api_a.post(url, headers={"Idempotency-Key": "launch-1"})
    again = api_a.post(url)

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    assert again.status_code == 409
    assert error_of(again)["code"] == "not_draft"
    assert CreditEntry.objects.filter(kind=EntryKind.CAMPAIGN).count() == 1
    assert Message.objects.count() == 3


def test_pause_resume_and_cancel_a_scheduled_campaign(
    api_a: APIClient, account_a: Account, customers: ContactList
) -> None:
    campaign = draft(api_a, lists=[customers.pk], send_at="2026-12-01T10:00:00+01:00")
    url = f"/api/v1/campaigns/{campaign['id']}"
    assert api_a.post(f"{url}/launch").json()["status"] == "scheduled"

    assert api_a.post(f"{url}/pause").json()["status"] == "paused"
    assert api_a.post(f"{url}/resume").json()["status"] == "scheduled"
    cancelled = api_a.post(f"{url}/cancel").json()

    assert cancelled["campaign"]["status"] == "cancelled"
    assert cancelled["refunded"] == 4
    account_a.refresh_from_db()
    assert account_a.credit_balance == 1000
    refused = api_a.post(f"{url}/pause")
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "bad_state"


def test_the_list_is_the_accounts_and_filters_by_status(
    api_a: APIClient, api_b: APIClient, customers: ContactList
) -> None:
    mine = draft(api_a, lists=[customers.pk])
    draft(api_b, numbers=["0612345678"])

    listed = api_a.get("/api/v1/campaigns").json()
    assert [row["id"] for row in listed["results"]] == [mine["id"]]
    assert listed["count"] == 1
    assert api_a.get("/api/v1/campaigns", {"status": "sending"}).json()["results"] == []
    assert api_a.get("/api/v1/campaigns", {"status": "nope"}).status_code == 422


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("get", "/statistics"),
        ("post", "/launch"),
        ("post", "/pause"),
        ("post", "/resume"),
        ("post", "/cancel"),
    ],
)
def test_another_accounts_campaign_is_a_404_everywhere(
    api_a: APIClient, api_b: APIClient, customers: ContactList, method: str, suffix: str
) -> None:
    campaign = draft(api_a, lists=[customers.pk])

    response = getattr(api_b, method)(f"/api/v1/campaigns/{campaign['id']}{suffix}")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert Campaign.objects.get().status == CampaignStatus.DRAFT
    assert not Message.objects.exists()
