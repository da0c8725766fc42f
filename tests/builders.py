"""Small, explicit builders for tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from accounts import services
from accounts.models import Account, AccountType, EntryKind


def make_user(username: str, *, staff: bool = False, password: str = "pw-for-tests") -> Any:
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=password
    )
    if staff:
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def make_account(
    *,
    slug: str,
    name: str | None = None,
    credits: int = 0,
    account_type: AccountType = AccountType.MARKETING,
    owner: Any = None,
) -> Account:
    owner = owner or make_user(f"{slug}-owner")
    account = services.account_create(name=name or slug, slug=slug, owner=owner)
    if account_type != AccountType.MARKETING:
        services.account_switch_type(
            account=account, new_type=account_type, actor=None, reason="test setup"
        )
    if credits:
        services.credits_add(
            account=account,
            amount=credits,
            kind=EntryKind.PURCHASE,
            reference=f"test:{slug}:initial",
        )
    account.refresh_from_db()
    return account


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """`work(n)` in `count` threads released together; their results (or errors)."""
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work(index)
        except BaseException as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
