"""Reads on accounts, credits and pricing. Every customer-facing read takes `account`."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet, Sum

from accounts.models import DEFAULT_REGION_CODE, Account, CountryRate, CreditEntry, Membership


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
