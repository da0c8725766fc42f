"""`/api/v1/blacklist`: the page's filters, add (source API, no confirmation SMS),
remove what the account added (not a STOP), the page's CSV export, 404 across accounts."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from blacklist.models import BlacklistEntry, BlacklistEvent, BlacklistSource
from blacklist.services import blacklist_numbers
from campaigns.models import Message
from tests.api.conftest import error_of


def entry(account: Account, number: str, source: BlacklistSource, note: str = "") -> BlacklistEntry:
    return blacklist_numbers(account=account, numbers=[number], source=source, note=note)[0]


def test_numbers_are_added_with_the_api_source_and_no_confirmation(
    api_a: APIClient, account_a: Account
) -> None:
    entry(account_a, "+33612345678", BlacklistSource.STOP_SMS)

    response = api_a.post(
        "/api/v1/blacklist", {"numbers": ["06 12 34 56 78", "07 98 76 54 32"], "note": "phone"}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [row["phone_number"] for row in body["added"]] == ["+33798765432"]
    assert body["added"][0]["source"] == "api" and body["added"][0]["removable"] is True
    assert body["already"] == ["+33612345678"]
    assert BlacklistEvent.objects.filter(phone_number="+33798765432", source="api").exists()
    assert not Message.objects.exists()
    account_a.refresh_from_db()
    assert account_a.credit_balance == 1000


def test_one_unreadable_number_refuses_the_whole_request(api_a: APIClient) -> None:
    response = api_a.post("/api/v1/blacklist", {"numbers": ["0612345678", "abc"]})

    assert response.status_code == 422
    assert error_of(response)["details"]["numbers"] == {"1": ["This is not a phone number."]}
    assert not BlacklistEntry.objects.exists()


def test_the_list_filters_like_the_page(api_a: APIClient, account_a: Account) -> None:
    entry(account_a, "+33612345678", BlacklistSource.STOP_SMS)
    entry(account_a, "+33798765432", BlacklistSource.API)

    def numbers(**query: Any) -> list[str]:
        response = api_a.get("/api/v1/blacklist", query)
        assert response.status_code == 200, response.json()
        return [row["phone_number"] for row in response.json()["results"]]

    assert numbers() == ["+33798765432", "+33612345678"]
    assert numbers(q="06 12") == ["+33612345678"]
    assert numbers(source="api") == ["+33798765432"]
    assert numbers(since="2099-01-01") == []
    assert api_a.get("/api/v1/blacklist", {"source": "nope"}).status_code == 422


def test_an_entry_the_account_added_is_removed_with_its_reason(
    api_a: APIClient, account_a: Account
) -> None:
    added = entry(account_a, "+33798765432", BlacklistSource.API)

    response = api_a.post(f"/api/v1/blacklist/{added.pk}/remove", {"reason": "asked again"})

    assert response.status_code == 204
    assert not BlacklistEntry.objects.exists()
    removal = BlacklistEvent.objects.get(action="removed")
    assert (removal.reason, removal.source) == ("asked again", "api")


def test_a_stop_entry_cannot_be_removed(api_a: APIClient, account_a: Account) -> None:
    stop = entry(account_a, "+33612345678", BlacklistSource.STOP_SMS)

    response = api_a.post(f"/api/v1/blacklist/{stop.pk}/remove", {"reason": "please"})

    assert response.status_code == 409
    assert error_of(response)["code"] == "not_removable"
    assert BlacklistEntry.objects.filter(pk=stop.pk).exists()
    detail = api_a.get(f"/api/v1/blacklist/{stop.pk}").json()
    assert detail["removable"] is False
    assert [event["action"] for event in detail["history"]] == ["added"]


def test_the_export_is_the_pages_csv(api_a: APIClient, client_a: Any, account_a: Account) -> None:
    entry(account_a, "+33612345678", BlacklistSource.API, note="=HYPERLINK(1)")

    response = api_a.get("/api/v1/blacklist/export", {"source": "api"})
    page = client_a.get("/blacklist/export.csv", {"source": "api"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    assert body == b"".join(page.streaming_content).decode()
    assert "+33612345678;API;" in body and "'=HYPERLINK(1)" in body


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [("get", "", None), ("post", "/remove", {"reason": "mine now"})],
)
def test_another_accounts_entry_is_a_404(
    api_b: APIClient, account_a: Account, method: str, suffix: str, payload: Any
) -> None:
    added = entry(account_a, "+33612345678", BlacklistSource.API)

    response = getattr(api_b, method)(f"/api/v1/blacklist/{added.pk}{suffix}", payload)

    assert response.status_code == 404
    assert BlacklistEntry.objects.filter(pk=added.pk).exists()
    assert api_b.get("/api/v1/blacklist").json()["results"] == []
    export = b"".join(api_b.get("/api/v1/blacklist/export").streaming_content).decode()
    assert "+33612345678" not in export
