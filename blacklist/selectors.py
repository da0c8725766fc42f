"""Reading an account's Blacklist: every query is scoped to one account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Account
from blacklist.models import BlacklistEntry, BlacklistEvent, BlacklistSource


@dataclass(frozen=True)
class BlacklistFilter:
    search: str = ""  # part of the number, spaces ignored ("06 12" finds +33612…)
    source: str = ""
    since: date | None = None
    until: date | None = None


def blacklist_list(*, account: Account, filters: BlacklistFilter) -> QuerySet[BlacklistEntry]:
    entries = BlacklistEntry.objects.filter(account=account).order_by("-created_at", "-id")
    digits = "".join(char for char in filters.search if char.isdigit())
    if digits:
        # A national French number typed as 06… is stored as +336…
        national = "33" + digits[1:] if digits.startswith("0") else digits
        entries = entries.filter(phone_number__contains=national)
    if filters.source in BlacklistSource.values:
        entries = entries.filter(source=filters.source)
    if filters.since:
        entries = entries.filter(created_at__date__gte=filters.since)
    if filters.until:
        entries = entries.filter(created_at__date__lte=filters.until)
    return entries


def blacklist_get(*, account: Account, pk: int) -> BlacklistEntry:
    return get_object_or_404(BlacklistEntry, account=account, pk=pk)


def blacklist_history(*, account: Account, phone_number: str) -> QuerySet[BlacklistEvent]:
    return BlacklistEvent.objects.filter(account=account, phone_number=phone_number).select_related(
        "actor"
    )


def inbox(*, account: Account, status: str = "") -> QuerySet:
    """The replies attributed to the account, newest first, with the campaign answered."""
    from blacklist.models import InboundMessage, InboundStatus

    replies = (
        InboundMessage.objects.filter(account=account)
        .select_related("campaign")
        .order_by("-received_at", "-id")
    )
    if status in InboundStatus.values:
        replies = replies.filter(status=status)
    return replies
