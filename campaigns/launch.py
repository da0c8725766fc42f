"""Launching a campaign: every recipient's exact message, one debit, rows in bulk.

`plan_campaign` computes what a launch would do (the review page shows it);
`launch_campaign` does it, in one transaction:

1. stream the recipients (lists or all contacts, plus typed numbers, each number once),
   leaving out the Blacklist;
2. render each recipient's text (`{first_name}`…), add the STOP mention of its
   destination, measure it and price it with the text engine (memoised: a campaign has
   few distinct texts per region);
3. write the message rows in bulk (PostgreSQL COPY, batched INSERTs elsewhere); on
   PostgreSQL a text without fields takes the fast path: one INSERT ... SELECT with the
   text of each region, no row passing through Python;
4. debit the total once (`campaign:<id>:launch`). Too few credits: InsufficientCredits
   with the figures, and the transaction takes everything back.

The recipients are fixed at launch; a number blacklisted afterwards is skipped and
refunded by dispatch.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import EntryKind
from accounts.selectors import rate_for_region, rates_table
from accounts.services import credits_debit
from blacklist.models import BlacklistEntry
from campaigns.errors import CampaignError
from campaigns.models import Campaign, CampaignStatus, Contact, Message, MessageState
from campaigns.preview import stop_rules
from campaigns.sending_hours import SendingWindow, next_allowed
from campaigns.text import Composition, Encoding, compose_for
from campaigns.text.mention import FRENCH_REGION
from campaigns.text.personalize import STANDARD_FIELDS, parse, unknown_fields

STREAM_CHUNK = 10_000
WRITE_CHUNK = 20_000
MEMO_LIMIT = 100_000  # distinct (text, region) pairs kept; memory stays flat beyond


@dataclass
class LaunchPlan:
    """What a launch sends and costs. Filled by one pass over the recipients."""

    recipients: int = 0
    french: int = 0
    international: int = 0
    excluded: int = 0  # on the Blacklist, left out
    no_consent: int = 0
    credits: int = 0
    french_credits: int = 0
    international_credits: int = 0
    segments: int = 0
    ucs2: int = 0
    start_at: datetime | None = None
    french_not_before: datetime | None = None  # set when the sending hours defer them
    by_region: dict[str, int] = field(default_factory=dict)

    @property
    def french_deferred(self) -> bool:
        return self.french_not_before is not None and self.french > 0


@dataclass(frozen=True, slots=True)
class _Row:
    phone_number: str
    region: str
    composition: Composition
    consent: bool


def _blacklisted(account_id: int) -> Exists:
    return Exists(
        BlacklistEntry.objects.filter(account_id=account_id, phone_number=OuterRef("phone_number"))
    )


def _selected_contacts(campaign: Campaign) -> QuerySet[Contact]:
    contacts = Contact.objects.filter(account_id=campaign.account_id)
    if campaign.all_contacts:
        return contacts
    list_ids = list(campaign.lists.values_list("id", flat=True))
    if not list_ids:
        return contacts.none()
    membership = Contact.lists.through.objects.filter(
        contact_id=OuterRef("pk"), contactlist_id__in=list_ids
    )
    return contacts.filter(Exists(membership))


def _recipients(
    campaign: Campaign, plan: LaunchPlan, *, contacts: bool = True
) -> Iterator[tuple[str, str, dict, bool]]:
    """(number, region, values for the fields, consent recorded) of each recipient once.

    contacts=False: only the typed numbers that are not among the selected contacts
    (the fast path has written the contacts' rows already).
    """
    template_fields = set(parse(campaign.text).fields)
    custom = template_fields - set(STANDARD_FIELDS)
    columns = ["phone_number", "region", "first_name", "last_name", "consent_basis", "consent_at"]
    if custom:
        columns.append("fields")
    typed = {e164: region for e164, region in campaign.numbers}
    blacklisted = _blacklisted(campaign.account_id)

    selected = _selected_contacts(campaign)
    plan.excluded = selected.filter(blacklisted).count()
    if contacts:
        rows = selected.filter(~blacklisted).order_by("pk").values_list(*columns)
        for row in rows.iterator(chunk_size=STREAM_CHUNK):
            values = {"first_name": row[2], "last_name": row[3]}
            if custom:
                values.update(row[6] or {})
            typed.pop(row[0], None)
            yield row[0], row[1], values, bool(row[4] or row[5])
    # A typed number that is a selected contact is sent (or left out) as that contact.
    for number in selected.filter(phone_number__in=list(typed)).values_list(
        "phone_number", flat=True
    ):
        typed.pop(number, None)
    if not typed:
        return
    # Typed numbers outside the lists: a contact's name if there is one, else nothing.
    known = {
        row[0]: row
        for row in Contact.objects.filter(
            account_id=campaign.account_id, phone_number__in=list(typed)
        ).values_list(*columns)
    }
    banned = set(
        BlacklistEntry.objects.filter(
            account_id=campaign.account_id, phone_number__in=list(typed)
        ).values_list("phone_number", flat=True)
    )
    for e164, region in typed.items():
        if e164 in banned:
            plan.excluded += 1
            continue
        row = known.get(e164)
        if row is None:
            yield e164, region, {}, False
            continue
        values = {"first_name": row[2], "last_name": row[3]}
        if custom:
            values.update(row[6] or {})
        yield e164, row[1], values, bool(row[4] or row[5])


def check_fields(campaign: Campaign) -> None:
    """Refuse a text with a field no contact of the account can fill."""
    known: set[str] = set()
    if set(parse(campaign.text).fields) - set(STANDARD_FIELDS):
        for fields in (
            Contact.objects.filter(account_id=campaign.account_id)
            .exclude(fields={})
            .values_list("fields", flat=True)
            .iterator(chunk_size=STREAM_CHUNK)
        ):
            known.update(fields)
    unknown = unknown_fields(campaign.text, known)
    if unknown:
        raise CampaignError(
            _(
                "Unknown field {%(field)s}: use {first_name}, {last_name} or a column "
                "of your imports."
            )
            % {"field": unknown[0]},
            code="unknown_field",
        )


def sending_window() -> SendingWindow:
    return SendingWindow.from_setting(settings.SMS_FRENCH_SENDING_HOURS)


def _schedule(campaign: Campaign, plan: LaunchPlan, now: datetime) -> None:
    start = campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > now else now
    plan.start_at = start
    if campaign.account.is_marketing:
        allowed = next_allowed(start, sending_window())
        if allowed > start:
            plan.french_not_before = allowed


def _rows(campaign: Campaign, plan: LaunchPlan, *, contacts: bool = True) -> Iterator[_Row]:
    template = parse(campaign.text)
    rules = stop_rules(campaign.account, requested=campaign.add_stop_mention)
    rates = rates_table()
    memo: dict[tuple[str, str], Composition] = {}
    by_region = dict(plan.by_region)
    for number, region, values, consent in _recipients(campaign, plan, contacts=contacts):
        text = template.render(values)
        key = (text, region)
        composition = memo.get(key)
        if composition is None:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            composition = compose_for(
                text, region=region, rules=rules, rate=rate_for_region(region=region, rates=rates)
            )
            memo[key] = composition
        plan.recipients += 1
        by_region[region] = by_region.get(region, 0) + 1
        credits = composition.credits
        plan.credits += credits
        plan.segments += composition.segments
        if composition.encoding is Encoding.UCS2:
            plan.ucs2 += 1
        if region == FRENCH_REGION:
            plan.french += 1
            plan.french_credits += credits
        else:
            plan.international += 1
            plan.international_credits += credits
        if not consent:
            plan.no_consent += 1
        yield _Row(number, region, composition, consent)
    plan.by_region = by_region


def plan_campaign(campaign: Campaign, *, now: datetime | None = None) -> LaunchPlan:
    """The figures of a launch, without writing anything."""
    check_fields(campaign)
    plan = LaunchPlan()
    _schedule(campaign, plan, now or timezone.now())
    for _row in _rows(campaign, plan):
        pass
    return plan


# -- writing the rows --------------------------------------------------------------------

_COLUMNS = (
    "account_id",
    "campaign_id",
    "phone_number",
    "region",
    "sender_id",
    "text",
    "ucs2",
    "segments",
    "credits",
    "marketing",
    "state",
    "not_before",
    "claim",
    "gateway",
    "gateway_id",
    "error",
    "report",
)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_rows(rows: Iterator[tuple]) -> None:
    """PostgreSQL: stream the rows with COPY, a chunk at a time (memory stays flat)."""
    sql = f"COPY {Message._meta.db_table} ({', '.join(_COLUMNS)}) FROM STDIN"
    raw = connection.cursor().cursor  # psycopg2's cursor, for copy_expert
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write(
            "\t".join(
                "\\N" if value is None else str(value).translate(_COPY_ESCAPES) for value in row
            )
        )
        buffer.write("\n")
        count += 1
        if count % WRITE_CHUNK == 0:
            buffer.seek(0)
            raw.copy_expert(sql, buffer)
            buffer = io.StringIO()
    if buffer.tell():
        buffer.seek(0)
        raw.copy_expert(sql, buffer)


def _insert_rows(rows: Iterator[tuple]) -> None:
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    sql = (
        f"INSERT INTO {Message._meta.db_table} ({', '.join(_COLUMNS)}) "  # noqa: S608
        f"VALUES ({placeholders})"
    )
    chunk: list[tuple] = []
    with connection.cursor() as cursor:
        for row in rows:
            chunk.append(row)
            if len(chunk) >= WRITE_CHUNK:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


def _message_values(
    campaign: Campaign, plan: LaunchPlan, *, contacts: bool = True
) -> Iterator[tuple]:
    marketing = campaign.account.is_marketing
    postgres = connection.vendor == "postgresql"
    french_from = plan.french_not_before
    # PostgreSQL's COPY reads booleans as t/f; the database adapter takes Python's.
    true, false = ("t", "f") if postgres else (True, False)
    french_not_before = french_from.isoformat() if postgres and french_from else french_from
    for row in _rows(campaign, plan, contacts=contacts):
        c = row.composition
        yield (
            campaign.account_id,
            campaign.pk,
            row.phone_number,
            row.region,
            campaign.sender_id,
            c.text_sent,
            true if c.encoding is Encoding.UCS2 else false,
            c.segments,
            c.credits,
            true if marketing else false,
            MessageState.QUEUED.value,
            french_not_before if row.region == FRENCH_REGION else None,
            "",
            "",
            "",
            "",
            "",
        )


# -- the fast path: one INSERT ... SELECT -----------------------------------------------


def _fast_path(campaign: Campaign) -> bool:
    """PostgreSQL and a text without fields: one text per destination region."""
    return connection.vendor == "postgresql" and not parse(campaign.text).fields


def _insert_contacts(campaign: Campaign, plan: LaunchPlan) -> None:
    """The selected contacts' rows in one INSERT ... SELECT, the texts by region.

    Without personalisation every recipient of a region gets the same text, so the text
    engine runs once per region present and PostgreSQL writes the rows without any of
    them passing through Python (1,000,000 rows in seconds, not a Python loop's minute).
    """
    blacklisted = _blacklisted(campaign.account_id)
    selected = _selected_contacts(campaign).filter(~blacklisted)
    regions = sorted(set(selected.order_by().values_list("region", flat=True).distinct()))
    if not regions:
        return
    rules = stop_rules(campaign.account, requested=campaign.add_stop_mention)
    rates = rates_table()
    compositions = {
        region: compose_for(
            campaign.text,
            region=region,
            rules=rules,
            rate=rate_for_region(region=region, rates=rates),
        )
        for region in regions
    }

    def by_region(value: Callable[[str, Composition], object]) -> tuple[str, list]:
        whens = " ".join("WHEN %s THEN %s" for _ in regions)
        params: list = []
        for region in regions:
            params += [region, value(region, compositions[region])]
        return f"CASE c.region {whens} END", params

    text_sql, text_params = by_region(lambda region, c: c.text_sent)
    ucs2_sql, ucs2_params = by_region(lambda region, c: c.encoding is Encoding.UCS2)
    segments_sql, segments_params = by_region(lambda region, c: c.segments)
    credits_sql, credits_params = by_region(lambda region, c: c.credits)
    contacts_sql, contacts_params = (
        selected.order_by("pk").values("phone_number", "region").query.sql_with_params()
    )
    not_before = plan.french_not_before
    sql = (
        f"INSERT INTO {Message._meta.db_table} ({', '.join(_COLUMNS)}) "  # noqa: S608
        f"SELECT %s, %s, c.phone_number, c.region, %s, {text_sql}, {ucs2_sql}::boolean, "
        f"{segments_sql}::integer, {credits_sql}::integer, %s, %s, "
        f"CASE WHEN c.region = %s THEN %s::timestamptz END, '', '', '', '', '' "
        f"FROM ({contacts_sql}) AS c"
    )
    params = [
        campaign.account_id,
        campaign.pk,
        campaign.sender_id,
        *text_params,
        *ucs2_params,
        *segments_params,
        *credits_params,
        campaign.account.is_marketing,
        MessageState.QUEUED.value,
        FRENCH_REGION,
        not_before,
        *contacts_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    plan.no_consent = selected.filter(consent_basis="", consent_at__isnull=True).order_by().count()


def _count_rows(campaign: Campaign, plan: LaunchPlan) -> None:
    """The plan's figures from the rows written: exactly what is debited."""
    plan.recipients = plan.french = plan.international = plan.credits = 0
    plan.french_credits = plan.international_credits = plan.segments = plan.ucs2 = 0
    plan.by_region = {}
    grouped = (
        Message.objects.filter(campaign_id=campaign.pk)
        .order_by()
        .values_list("region", "ucs2")
        .annotate(count=Count("id"), credits=Sum("credits"), segments=Sum("segments"))
    )
    for region, ucs2, count, credits, segments in grouped:
        plan.recipients += count
        plan.credits += credits
        plan.segments += segments
        plan.by_region[region] = plan.by_region.get(region, 0) + count
        if ucs2:
            plan.ucs2 += count
        if region == FRENCH_REGION:
            plan.french += count
            plan.french_credits += credits
        else:
            plan.international += count
            plan.international_credits += credits


def _write_messages(campaign: Campaign, plan: LaunchPlan) -> None:
    if _fast_path(campaign):
        _insert_contacts(campaign, plan)
        typed = LaunchPlan(no_consent=plan.no_consent, french_not_before=plan.french_not_before)
        _copy_rows(_message_values(campaign, typed, contacts=False))
        plan.no_consent, plan.excluded = typed.no_consent, typed.excluded
        _count_rows(campaign, plan)
        return
    writer = _copy_rows if connection.vendor == "postgresql" else _insert_rows
    writer(_message_values(campaign, plan))


def launch_campaign(campaign: Campaign, *, now: datetime | None = None) -> LaunchPlan:
    """Launch a draft: write its messages, debit once, start or schedule it.

    Raises CampaignError (not a draft, no recipients, unknown field) or
    InsufficientCredits(needed, available); either way nothing has changed.
    """
    from campaigns.tasks import start_dispatch

    now = now or timezone.now()
    check_fields(campaign)
    plan = LaunchPlan()
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().select_related("account").get(pk=campaign.pk)
        if locked.status != CampaignStatus.DRAFT:
            raise CampaignError(
                _("This campaign was already launched (%(status)s).")
                % {"status": locked.get_status_display()},
                code="not_draft",
            )
        _schedule(locked, plan, now)
        _write_messages(locked, plan)
        if plan.recipients == 0:
            raise CampaignError(
                _("This campaign has no recipient left to send to."), code="no_recipients"
            )
        credits_debit(
            account=locked.account,
            amount=plan.credits,
            kind=EntryKind.CAMPAIGN,
            reference=f"campaign:{locked.pk}:launch",
            note=f"{locked.name}: {plan.recipients} messages",
        )
        scheduled = bool(locked.scheduled_at and locked.scheduled_at > now)
        locked.status = CampaignStatus.SCHEDULED if scheduled else CampaignStatus.SENDING
        locked.launched_at = now
        locked.started_at = None if scheduled else now
        locked.dispatched_at = None if scheduled else now
        locked.recipient_count = plan.recipients
        locked.excluded_count = plan.excluded
        locked.no_consent_count = plan.no_consent
        locked.credits = plan.credits
        locked.french_not_before = plan.french_not_before if plan.french else None
        locked.save()
        if connection.vendor == "postgresql":
            # Fresh statistics for the claims' plans after a bulk load.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Message._meta.db_table}")
        if not scheduled:
            start_dispatch(locked.pk)
    campaign.refresh_from_db()
    return plan
