"""Reads on accounts, credits and pricing. Every customer-facing read takes `account`."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet, Sum

from accounts.models import (
    DEFAULT_REGION_CODE,
    Account,
    ApiKey,
    CountryRate,
    CreditEntry,
    Membership,
)


def memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("account").order_by("account__name")


def ledger_recent(*, account: Account, limit: int = 10) -> list[CreditEntry]:
    return list(CreditEntry.objects.filter(account=account).select_related("created_by")[:limit])


def ledger_sum(*, account: Account) -> int:
    """The balance recomputed from the entries: the truth the stored balance must match."""
    return CreditEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or 0


def rates_table() -> dict[str, int]:
    """{region: credits per segment}, with "ZZ" as the rate of every other country."""
    return dict(CountryRate.objects.values_list("region", "credits_per_segment"))


def rate_for_region(*, region: str | None, rates: dict[str, int] | None = None) -> int:
    """Credits per segment for a destination region, falling back to the "ZZ" rate."""
    table = rates if rates is not None else rates_table()
    if region and region.upper() in table:
        return table[region.upper()]
    return table.get(DEFAULT_REGION_CODE, 1)


def ledger_entries(*, account: Account) -> QuerySet[CreditEntry]:
    return CreditEntry.objects.filter(account=account)


def api_key_list(*, account: Account) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(account=account).select_related("created_by", "revoked_by")


def api_key_for_secret(*, raw: str) -> ApiKey | None:
    """The active key whose secret is `raw`, with its account (None if unknown or revoked)."""
    from accounts.services import hash_api_key

    return (
        ApiKey.objects.filter(key_hash=hash_api_key(raw), revoked_at__isnull=True)
        .select_related("account", "created_by")
        .first()
    )
