"""The balance and the ledger, scoped to the key's account."""

from __future__ import annotations

from rest_framework.test import APIClient

from accounts.models import Account, EntryKind
from accounts.services import credits_debit


def test_the_balance_is_the_accounts(api_a: APIClient, account_a: Account) -> None:
    credits_debit(account=account_a, amount=7, kind=EntryKind.MESSAGE, reference="t:1")

    assert api_a.get("/api/v1/balance").json() == {"balance": 993}


def test_the_ledger_lists_the_accounts_entries_newest_first_page_by_page(
    api_a: APIClient, account_a: Account, account_b: Account
) -> None:
    for index in range(3):
        credits_debit(account=account_a, amount=1, kind=EntryKind.MESSAGE, reference=f"a:{index}")
    credits_debit(account=account_b, amount=5, kind=EntryKind.MESSAGE, reference="b:0")

    first = api_a.get("/api/v1/ledger", {"page_size": 2}).json()
    second = api_a.get(first["next"]).json()

    references = [entry["reference"] for entry in first["results"] + second["results"]]
    assert references == ["a:2", "a:1", "a:0", "test:tenant-a:initial"]
    assert first["results"][0]["amount"] == -1
    assert first["results"][0]["balance_after"] == 997
    assert second["next"] is None
