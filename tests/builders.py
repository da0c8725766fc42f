"""Small, explicit builders for tests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

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
