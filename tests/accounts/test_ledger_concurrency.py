"""Concurrent debits on PostgreSQL, from real threads with their own connections."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from accounts import services
from accounts.errors import InsufficientCredits
from accounts.models import Account, CreditEntry, EntryKind
from accounts.selectors import ledger_sum
from tests.builders import make_account

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
DEBITS_PER_THREAD = 40


def _debit_many(account_pk: int, thread: int, outcomes: list[str]) -> None:
    account = Account.objects.get(pk=account_pk)
    try:
        for index in range(DEBITS_PER_THREAD):
            try:
                services.credits_debit(
                    account=account,
                    amount=3,
                    kind=EntryKind.MESSAGE,
                    reference=f"concurrent:{thread}:{index}",
                )
                outcomes.append("ok")
            except InsufficientCredits:
                outcomes.append("refused")
    finally:
        connection.close()


def test_concurrent_debits_never_overdraw_and_lose_no_update(db: Any) -> None:
    account = make_account(slug="race", credits=200)
    outcomes: list[str] = []
    threads = [
        threading.Thread(target=_debit_many, args=(account.pk, number, outcomes))
        for number in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    account.refresh_from_db()
    # 200 credits hold 66 debits of 3: exactly that many succeed, whatever the interleaving.
    assert outcomes.count("ok") == 66
    assert outcomes.count("refused") == THREADS * DEBITS_PER_THREAD - 66
    assert account.credit_balance == 2
    assert ledger_sum(account=account) == account.credit_balance
    rows = list(
        CreditEntry.objects.filter(account=account)
        .order_by("id")
        .values_list("amount", "balance_after")
    )
    # Each entry's running balance follows from the previous one: no update was lost,
    # and none of them is below zero.
    running = 0
    for amount, balance_after in rows:
        running += amount
        assert balance_after == running >= 0


def test_concurrent_retries_of_one_reference_debit_once(db: Any) -> None:
    account = make_account(slug="retry-race", credits=50)
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def retry() -> None:
        try:
            barrier.wait()
            services.credits_debit(
                account=Account.objects.get(pk=account.pk),
                amount=10,
                kind=EntryKind.CAMPAIGN,
                reference="campaign:9:launch",
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    account.refresh_from_db()
    assert errors == []
    assert account.credit_balance == 40 == ledger_sum(account=account)
    assert CreditEntry.objects.filter(reference="campaign:9:launch").count() == 1
