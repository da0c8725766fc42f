"""Handing a campaign's messages to the gateway, a batch at a time.

A batch is claimed by one UPDATE that moves up to SMS_DISPATCH_BATCH `queued` rows to
`sending` under a fresh claim token. Two tasks can never claim the same row (PostgreSQL
skips rows another claim holds; SQLite serialises writers), so a duplicated or retried
dispatch task cannot hand a message to the gateway twice: the row's state says it was
taken. Then, in order:

1. numbers blacklisted since the launch are set `skipped` and their credits refunded;
2. the rest go to the gateway; accepted rows become `sent` with the gateway's id,
   rejected ones `failed` with the reason, refunded;
3. when no queued or claimed row is left, the campaign is `completed`.

A worker that dies between claim and step 2 leaves `sending` rows behind: the tick
releases claims older than SMS_CLAIM_TIMEOUT back to `queued`. Each step is a few
set-based statements per batch, never one per message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Q, Sum
from django.utils import timezone

from accounts.models import EntryKind
from accounts.services import Movement, credits_add, credits_record
from blacklist.models import BlacklistEntry
from campaigns.gateways import OutgoingSms, SendResult, get_gateway
from campaigns.models import Campaign, CampaignStatus, LastSent, Message, MessageState

MESSAGE_TABLE = Message._meta.db_table
SKIPPED_REASON = "number on the Blacklist since the launch"
SKIPPED_SINGLE_REASON = "number on the Blacklist"


@dataclass(frozen=True)
class BatchOutcome:
    claimed: int = 0
    last_id: int = 0  # the cursor for the next claim of the same task
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    refunded: int = 0
    retry: int = 0  # given back to the queue: the gateway could not be reached


@dataclass(frozen=True)
class _Claimed:
    id: int
    phone_number: str
    sender_id: str
    text: str
    ucs2: bool
    credits: int


def _claim(
    campaign: Campaign, token: str, now: datetime, size: int, after_id: int
) -> list[_Claimed]:
    """Take up to `size` due queued rows of a sending campaign, in id order after
    `after_id` (the task's cursor: the index entries of rows already claimed stay until
    vacuum, and seeking past them keeps every claim as fast as the first)."""
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {MESSAGE_TABLE} SET state = %s, claim = %s, claimed_at = %s "  # noqa: S608
        f"WHERE id IN (SELECT id FROM {MESSAGE_TABLE} "
        "WHERE campaign_id = %s AND state = %s AND id > %s "
        "AND (not_before IS NULL OR not_before <= %s) "
        f"ORDER BY id LIMIT %s{skip_locked}) "
        "RETURNING id, phone_number, sender_id, text, ucs2, credits"
    )
    params = [
        MessageState.SENDING,
        token,
        now,
        campaign.pk,
        MessageState.QUEUED,
        after_id,
        now,
        size,
    ]
    with transaction.atomic():
        # The campaign's row lock orders claims against pause and cancel: a cancel either
        # sees this claim's rows as taken or this claim sees the campaign cancelled.
        status = (
            Campaign.objects.select_for_update(no_key=True)
            .filter(pk=campaign.pk)
            .values_list("status", flat=True)
            .first()
        )
        if status != CampaignStatus.SENDING:
            return []
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    return sorted((_Claimed(*row) for row in rows), key=lambda row: row.id)


def _update_from_pairs(
    assignments: str, values: list, pairs: list[tuple[int, str]], token: str
) -> tuple[str, list]:
    """UPDATE the claimed rows whose ids are in `pairs`, setting `v.value` per row.

    PostgreSQL joins on unnest() of two arrays: the planner then reads each row by
    primary key (a VALUES list can get a nested loop that rescans it for every row).
    SQLite joins on a VALUES common table expression.
    """
    where = [token, MessageState.SENDING]
    if connection.vendor == "postgresql":
        arrays = [[pair[0] for pair in pairs], [pair[1] for pair in pairs]]
        source = "unnest(%s::bigint[], %s::varchar[]) AS v(mid, value)"
        prefix = ""
        params = [*values, *arrays, *where]
    else:
        rows = ", ".join(["(%s, %s)"] * len(pairs))
        prefix = f"WITH v(mid, value) AS (VALUES {rows}) "
        source = "v"
        params = [*(item for pair in pairs for item in pair), *values, *where]
    sql = (
        f"{prefix}UPDATE {MESSAGE_TABLE} SET {assignments} "  # noqa: S608
        f"FROM {source} WHERE {MESSAGE_TABLE}.id = v.mid AND claim = %s AND state = %s"
    )
    return sql, params


def _record(
    token: str, gateway: str, results: list[SendResult]
) -> tuple[list[SendResult], list[SendResult], list[int], int, int]:
    """Write what the gateway answered for a claim, in the caller's transaction:
    (accepted, rejected, queued again, rows sent, rows failed)."""
    accepted = [result for result in results if result.accepted]
    rejected = [result for result in results if not result.accepted and not result.retry]
    retry = [result.message_id for result in results if result.retry]
    if retry:
        # The gateway is unreachable: back to the queue, the tick tries again later.
        Message.objects.filter(id__in=retry, claim=token, state=MessageState.SENDING).update(
            state=MessageState.QUEUED, claim="", claimed_at=None
        )
    done = timezone.now()
    sent = _set_sent(token, gateway, accepted, done)
    _remember_sent([result.message_id for result in accepted])
    failed = _set_failed(token, gateway, rejected, done)
    return accepted, rejected, retry, sent, failed


def _rowcount(cursor: Any) -> int:
    """Rows the last statement changed (SQLite reports -1 for a WITH ... UPDATE)."""
    if cursor.rowcount >= 0:
        return cursor.rowcount
    cursor.execute("SELECT changes()")
    return cursor.fetchone()[0]


def _set_sent(token: str, gateway: str, results: list[SendResult], now: datetime) -> int:
    if not results:
        return 0
    # A delivery report may have overtaken this batch (see campaigns.reports): the
    # state then follows the report already on the row.
    sql, params = _update_from_pairs(
        "state = CASE WHEN report = 'delivered' THEN %s "
        "WHEN report IN ('failed', 'rejected') THEN %s ELSE %s END, "
        "gateway = %s, gateway_id = v.value, sent_at = %s",
        [MessageState.DELIVERED, MessageState.FAILED, MessageState.SENT, gateway, now],
        [(result.message_id, result.gateway_id) for result in results],
        token,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _rowcount(cursor)


def _remember_sent(message_ids: list[int]) -> None:
    """Upsert LastSent for the messages just handed over: one statement per batch, the
    rows read back by primary key. A later message wins; marketing fields move only
    with a marketing message."""
    if not message_ids:
        return
    table = LastSent._meta.db_table
    columns = (
        "phone_number, account_id, sent_at, CASE WHEN marketing THEN sent_at END, "
        "CASE WHEN marketing THEN id END, CASE WHEN marketing THEN campaign_id END"
    )
    if connection.vendor == "postgresql":
        rows = (
            f"SELECT DISTINCT ON (phone_number, account_id) {columns} FROM {MESSAGE_TABLE} "  # noqa: S608
            "WHERE id = ANY(%s) AND sent_at IS NOT NULL "
            "ORDER BY phone_number, account_id, marketing DESC, sent_at DESC, id DESC"
        )
        params: list = [list(message_ids)]
    else:  # SQLite applies the rows one after the other: no need to keep one per key
        marks = ", ".join(["%s"] * len(message_ids))
        rows = (
            f"SELECT {columns} FROM {MESSAGE_TABLE} "  # noqa: S608
            f"WHERE id IN ({marks}) AND sent_at IS NOT NULL ORDER BY id"
        )
        params = list(message_ids)
    newer = (
        f"excluded.marketing_at IS NOT NULL AND ({table}.marketing_at IS NULL "
        f"OR {table}.marketing_at <= excluded.marketing_at)"
    )
    sql = (
        f"INSERT INTO {table} (phone_number, account_id, sent_at, marketing_at, message_id, "
        f"campaign_id) {rows} ON CONFLICT (phone_number, account_id) DO UPDATE SET "
        f"sent_at = CASE WHEN {table}.sent_at < excluded.sent_at THEN excluded.sent_at "
        f"ELSE {table}.sent_at END, "
        f"marketing_at = CASE WHEN {newer} THEN excluded.marketing_at "
        f"ELSE {table}.marketing_at END, "
        f"message_id = CASE WHEN {newer} THEN excluded.message_id ELSE {table}.message_id END, "
        f"campaign_id = CASE WHEN {newer} THEN excluded.campaign_id "
        f"ELSE {table}.campaign_id END"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _set_failed(token: str, gateway: str, results: list[SendResult], now: datetime) -> int:
    if not results:
        return 0
    sql, params = _update_from_pairs(
        "state = %s, gateway = %s, error = v.value, report_at = %s",
        [MessageState.FAILED, gateway, now],
        [(result.message_id, result.error[:255]) for result in results],
        token,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _rowcount(cursor)


def _refund(campaign: Campaign, rows: list[_Claimed], reference: str, note: str) -> int:
    amount = sum(row.credits for row in rows)
    if amount:
        credits_add(
            account=campaign.account,
            amount=amount,
            kind=EntryKind.REFUND,
            reference=reference,
            note=note,
        )
    return amount


def send_next_batch(
    campaign: Campaign, *, size: int | None = None, after_id: int = 0
) -> BatchOutcome:
    """Claim, check, send and record one batch of `campaign`. Safe to run concurrently.

    `after_id` is the `last_id` of the previous batch of the same task (0 to start).
    """
    size = size or settings.SMS_DISPATCH_BATCH
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = _claim(campaign, token, now, size, after_id)
    if not claimed:
        return BatchOutcome()
    refunded = 0

    # 1. A STOP that arrived since the launch wins over the campaign.
    blacklisted = set(
        BlacklistEntry.objects.filter(
            account_id=campaign.account_id,
            phone_number__in=[row.phone_number for row in claimed],
        ).values_list("phone_number", flat=True)
    )
    skipped = [row for row in claimed if row.phone_number in blacklisted]
    if skipped:
        with transaction.atomic():
            Message.objects.filter(
                id__in=[row.id for row in skipped], claim=token, state=MessageState.SENDING
            ).update(state=MessageState.SKIPPED, error=SKIPPED_REASON, report_at=now)
            refunded += _refund(
                campaign,
                skipped,
                f"campaign:{campaign.pk}:skipped:{token}",
                f"{len(skipped)} messages skipped: numbers on the Blacklist since the launch",
            )
    to_send = [row for row in claimed if row.phone_number not in blacklisted]

    # 2. The gateway.
    gateway = get_gateway()
    results = gateway.send_batch(
        [
            OutgoingSms(
                message_id=row.id,
                to=row.phone_number,
                sender=row.sender_id,
                text=row.text,
                ucs2=row.ucs2,
            )
            for row in to_send
        ]
    )
    with transaction.atomic():
        accepted, rejected, retry, sent, failed = _record(token, gateway.name, results)
        if rejected:
            rejected_ids = {result.message_id for result in rejected}
            refunded += _refund(
                campaign,
                [row for row in to_send if row.id in rejected_ids],
                f"campaign:{campaign.pk}:rejected:{token}",
                f"{len(rejected)} messages refused by the gateway",
            )
    gateway.after_accepted([result.message_id for result in accepted])
    if len(claimed) < size:
        complete_if_done(campaign)  # the last batch: nothing was left to claim
    return BatchOutcome(
        claimed=len(claimed),
        last_id=claimed[-1].id,
        retry=len(retry),
        sent=sent,
        failed=failed,
        skipped=len(skipped),
        refunded=refunded,
    )


def _unfinished(campaign_id: int) -> Q:
    return Q(campaign_id=campaign_id, state__in=[MessageState.QUEUED, MessageState.SENDING])


def complete_if_done(campaign: Campaign) -> bool:
    """Mark a sending campaign completed once every message has left the queue."""
    return bool(
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING)
        .exclude(Exists(Message.objects.filter(_unfinished(campaign.pk))))
        .update(status=CampaignStatus.COMPLETED, completed_at=timezone.now())
    )


def note_activity(campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(dispatched_at=timezone.now())


def has_due_messages(campaign: Campaign, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return Message.objects.filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now),
        campaign_id=campaign.pk,
        state=MessageState.QUEUED,
    ).exists()


def release_abandoned_claims(campaign: Campaign, *, older_than: timedelta) -> int:
    """Put back rows a dead worker claimed and never recorded (the tick calls this)."""
    cutoff = timezone.now() - older_than
    return Message.objects.filter(
        campaign_id=campaign.pk, state=MessageState.SENDING, claimed_at__lt=cutoff
    ).update(state=MessageState.QUEUED, claim="", claimed_at=None)


def cancel_unsent(campaign: Campaign) -> int:
    """Cancel the queued messages of a campaign being cancelled and refund them.

    Runs in the caller's transaction, which holds the campaign's row lock: claims wait.
    """
    queued = Message.objects.filter(campaign_id=campaign.pk, state=MessageState.QUEUED)
    amount = queued.aggregate(total=Sum("credits"))["total"] or 0
    count = queued.update(state=MessageState.CANCELLED, report_at=timezone.now())
    if amount:
        credits_add(
            account=campaign.account,
            amount=amount,
            kind=EntryKind.REFUND,
            reference=f"campaign:{campaign.pk}:cancel",
            note=f"{count} messages cancelled",
        )
    return amount


# -- messages outside campaigns (the STOP confirmation; the API's single sends) ----------


def send_messages(message_ids: list[int]) -> BatchOutcome:
    """Claim, send and record queued messages that belong to no campaign.

    The same guard as campaigns: a row is handed over only by the task whose UPDATE
    moved it from `queued` to `sending`. A refusal by the gateway is refunded.
    """
    if not message_ids:
        return BatchOutcome()
    token = uuid.uuid4().hex
    claimed = list(
        Message.objects.filter(
            id__in=message_ids, campaign__isnull=True, state=MessageState.QUEUED
        ).values_list("id", flat=True)
    )
    if not claimed:
        return BatchOutcome()
    now = timezone.now()
    Message.objects.filter(id__in=claimed, state=MessageState.QUEUED).update(
        state=MessageState.SENDING, claim=token, claimed_at=now
    )
    # Read back by primary key (claim has no index): the rows this UPDATE moved.
    taken = Message.objects.filter(id__in=claimed, claim=token, state=MessageState.SENDING)
    rows: list[_Claimed] = []
    accounts: dict[int, int] = {}
    for row in taken.order_by("id").values_list(
        "id", "phone_number", "sender_id", "text", "ucs2", "credits", "account_id"
    ):
        rows.append(_Claimed(*row[:6]))
        accounts[row[0]] = row[6]
    if not rows:
        return BatchOutcome()
    refunded = 0
    skipped = _skip_blacklisted_singles(rows, accounts, token, now)
    if skipped:
        refunded += sum(row.credits for row in rows if row.id in skipped)
        rows = [row for row in rows if row.id not in skipped]
        if not rows:
            return BatchOutcome(claimed=len(skipped), skipped=len(skipped), refunded=refunded)
    gateway = get_gateway()
    results = gateway.send_batch(
        [OutgoingSms(row.id, row.phone_number, row.sender_id, row.text, row.ucs2) for row in rows]
    )
    with transaction.atomic():
        accepted, rejected, retry, sent, failed = _record(token, gateway.name, results)
        credits = {row.id: row.credits for row in rows}
        # One entry per message (a single send's refund is its own), in one call.
        refunds = credits_record(
            movements=[
                Movement(
                    account_id=accounts[result.message_id],
                    amount=credits[result.message_id],
                    kind=EntryKind.REFUND,
                    reference=f"message:{result.message_id}:rejected",
                    note=f"refused by the gateway: {result.error}"[:255],
                )
                for result in rejected
                if credits[result.message_id]
            ]
        )
        refunded += sum(entry.amount for entry in refunds)
    gateway.after_accepted([result.message_id for result in accepted])
    return BatchOutcome(
        claimed=len(rows) + len(skipped),
        last_id=rows[-1].id,
        sent=sent,
        failed=failed,
        skipped=len(skipped),
        retry=len(retry),
        refunded=refunded,
    )


def _skip_blacklisted_singles(
    rows: list[_Claimed], accounts: dict[int, int], token: str, now: datetime
) -> set[int]:
    """Skip and refund claimed single messages whose number went on the account's
    Blacklist after they were queued (a STOP committed while the send was being
    written: the STOP's cancellation could not see that row yet). A STOP confirmation
    is the message its entry asked for: it always leaves."""
    entries = list(
        BlacklistEntry.objects.filter(
            account_id__in=set(accounts.values()),
            phone_number__in={row.phone_number for row in rows},
        ).values_list("account_id", "phone_number", "confirmation_id")
    )
    if not entries:
        return set()
    banned = {(account_id, number) for account_id, number, _confirmation in entries}
    confirmations = {confirmation for *_key, confirmation in entries if confirmation}
    skipped = [
        row
        for row in rows
        if (accounts[row.id], row.phone_number) in banned and row.id not in confirmations
    ]
    if not skipped:
        return set()
    with transaction.atomic():
        Message.objects.filter(
            id__in=[row.id for row in skipped], claim=token, state=MessageState.SENDING
        ).update(state=MessageState.SKIPPED, error=SKIPPED_SINGLE_REASON, report_at=now)
        credits_record(
            movements=[
                Movement(
                    account_id=accounts[row.id],
                    amount=row.credits,
                    kind=EntryKind.REFUND,
                    reference=f"message:{row.id}:skipped",
                    note="number on the Blacklist",
                )
                for row in skipped
                if row.credits
            ]
        )
    return {row.id for row in skipped}


def due_standalone_messages(limit: int = 1000) -> list[int]:
    """Queued messages outside campaigns, for the tick: a task that never ran (a lost
    broker message) or a gateway that was unreachable. Claiming makes a race harmless."""
    now = timezone.now()
    return list(
        Message.objects.filter(campaign__isnull=True, state=MessageState.QUEUED)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
