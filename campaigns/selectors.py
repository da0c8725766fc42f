"""Reads on contacts, always scoped to one account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import Trunc
from django.shortcuts import get_object_or_404

from accounts.models import Account
from campaigns.models import Campaign, Contact, ContactList, Message, MessageState


def contact_list(*, account: Account, search: str = "") -> QuerySet[Contact]:
    return contact_search(Contact.objects.filter(account=account), search)


def contact_search(contacts: QuerySet[Contact], search: str) -> QuerySet[Contact]:
    """Contacts whose name contains `search`, or whose number contains its digits."""
    term = search.strip()
    if term:
        digits = "".join(ch for ch in term if ch.isdigit())
        query = Q(first_name__icontains=term) | Q(last_name__icontains=term)
        if digits:
            # "06 12…" is stored "+336 12…": match on the digits after the leading 0.
            query |= Q(phone_number__contains=digits.lstrip("0") or digits)
        contacts = contacts.filter(query)
    return contacts


def contact_lists(*, account: Account) -> QuerySet[ContactList]:
    """The account's contact lists with their number of contacts."""
    return (
        ContactList.objects.filter(account=account)
        .annotate(contact_count=Count("contacts"))
        .order_by("name", "id")
    )


def contact_list_get(*, account: Account, pk: int) -> ContactList:
    return get_object_or_404(contact_lists(account=account), pk=pk)


def contact_get(*, account: Account, pk: int) -> Contact:
    """Another account's contact is a 404, never a 403: its existence is not told."""
    return get_object_or_404(Contact, account=account, pk=pk)


def message_list(*, account: Account) -> QuerySet[Message]:
    """The account's messages, single and campaign ones, newest first."""
    return Message.objects.filter(account=account).order_by("-id")


def message_get(*, account: Account, pk: int) -> Message:
    return get_object_or_404(Message, account=account, pk=pk)


def campaign_list(*, account: Account) -> QuerySet[Campaign]:
    return Campaign.objects.filter(account=account)


def campaign_get(*, account: Account, pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("account"), account=account, pk=pk)


@dataclass(frozen=True)
class Progress:
    """Where a campaign's messages are, counted by state (one GROUP BY on an index)."""

    total: int
    queued: int
    sending: int
    sent: int  # handed to the gateway, no final report yet
    delivered: int
    failed: int
    skipped: int
    cancelled: int
    unknown: int  # submitted, no answer yet: a report or support staff will settle it
    parked: int  # its batch kept failing: waits for support staff

    @property
    def handed(self) -> int:
        return self.sent + self.delivered + self.failed + self.unknown

    @property
    def done(self) -> int:
        return self.total - self.queued - self.sending

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 0

    @property
    def delivery_rate(self) -> float | None:
        """Delivered among the messages with a final report, in percent."""
        final = self.delivered + self.failed
        return round(self.delivered * 100 / final, 1) if final else None


def campaign_progress(campaign: Campaign) -> Progress:
    counts = dict(
        Message.objects.filter(campaign=campaign)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return Progress(
        total=sum(counts.values()),
        **{state.value: counts.get(state.value, 0) for state in MessageState},
    )


@dataclass(frozen=True)
class Chart:
    """Cumulative deliveries over time, as an SVG polyline of `width` × `height`."""

    width: int
    height: int
    delivered_points: str
    failed_points: str
    start: datetime | None
    end: datetime | None
    peak: int

    @property
    def empty(self) -> bool:
        return self.peak == 0


def delivery_chart(
    campaign: Campaign, *, buckets: int = 40, width: int = 600, height: int = 160
) -> Chart:
    """Deliveries and failures over time since the campaign started (reports' times)."""
    reports = Message.objects.filter(
        campaign=campaign,
        state__in=[MessageState.DELIVERED, MessageState.FAILED],
        report_at__isnull=False,
    )
    bounds = reports.aggregate(start=Min("report_at"), end=Max("report_at"))
    start = campaign.started_at or bounds["start"]
    end = bounds["end"]
    if start is None or end is None:
        return Chart(width, height, "", "", None, None, 0)
    start = min(start, bounds["start"])
    span = max((end - start).total_seconds(), 1.0)
    step = span / buckets
    delivered = [0] * (buckets + 1)
    failed = [0] * (buckets + 1)
    # Grouped in the database by second, minute or hour: a few hundred rows at most.
    kind = "second" if span <= 900 else "minute" if span <= 86_400 else "hour"
    rows = (
        reports.annotate(at=Trunc("report_at", kind))
        .values_list("state", "at")
        .annotate(n=Count("id"))
        .order_by()
    )
    for state, at, count in rows:
        index = max(0, min(buckets, int((at - start).total_seconds() / step)))
        (delivered if state == MessageState.DELIVERED else failed)[index] += count
    peak = max(sum(delivered), sum(failed), 1)

    def points(series: list[int]) -> str:
        total = 0
        coords = []
        for index, count in enumerate(series):
            total += count
            x = index * width / buckets
            y = height - total * height / peak
            coords.append(f"{x:.1f},{y:.1f}")
        return " ".join(coords)

    return Chart(width, height, points(delivered), points(failed), start, end, peak)
