"""Handing a campaign's messages to the gateway, a batch at a time, exactly once.

A batch is claimed by one UPDATE that moves up to SMS_DISPATCH_BATCH `queued` rows to
`sending` under a fresh claim token. Two tasks can never claim the same row (PostgreSQL
skips rows another claim holds; SQLite serialises writers), so a duplicated or retried
dispatch task cannot hand a message to the gateway twice: the row's state says it was
taken. Then the batch goes out in chunks of SMS_DISPATCH_SUBMIT_CHUNK, each in two
phases:

1. under the account's STOP guard (below), numbers blacklisted since the launch are set
   `skipped` and refunded, and the rest are marked submitted (`submitted_at`), committed
   *before* the gateway sees them; only the rows this UPDATE still found in our claim go;
2. the gateway's answers are recorded: accepted rows become `sent`, refused ones
   `failed` and refunded, unanswered ones (a connection lost after the request was
   written) `unknown`.

When no queued or claimed row is left, the campaign is `completed`.

A worker that dies mid-batch leaves `sending` rows behind; the tick's sweeper looks at
claims older than SMS_CLAIM_TIMEOUT: rows never marked submitted certainly did not leave
and go back to `queued`; rows marked submitted may have reached the gateway and become
`unknown` (or what a delivery report already said): the platform never sends those
again by itself. A delivery report settles them; support staff decide for the rest.

A batch that keeps failing (an exception, or a worker that dies on it) is retried one
message at a time, and a message whose claim failed SMS_DISPATCH_MAX_ATTEMPTS times is
`parked` for support staff instead of looping.

The STOP guard: on PostgreSQL, each chunk's Blacklist check and submission hold a
shared advisory lock of the account, and `blacklist_add` takes it exclusively before
writing an entry. A STOP therefore commits either before a chunk's check (which then
sees it) or after the chunk was submitted: no message leaves after its STOP committed.

Each step is a few set-based statements per chunk, never one per message.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Q, Sum
from django.utils import timezone

from accounts.models import EntryKind
from accounts.services import Movement, credits_add, credits_record
from blacklist.models import BlacklistEntry
from campaigns.gateways import OutgoingSms, SendResult, get_gateway
from campaigns.models import Campaign, CampaignStatus, LastSent, Message, MessageState

MESSAGE_TABLE = Message._meta.db_table
# The state of a row that may have reached the gateway, from the report on it (if any):
# SQL with its four parameters.
_SETTLED_BY_REPORT = (
    "CASE WHEN report = 'delivered' THEN %s WHEN report IN ('failed', 'rejected') THEN %s "
    "WHEN report IN ('accepted', 'buffered') THEN %s ELSE %s END"
)
_SETTLED_STATES = [
    MessageState.DELIVERED,
    MessageState.FAILED,
    MessageState.SENT,
    MessageState.UNKNOWN,
]
SKIPPED_REASON = "number on the Blacklist since the launch"
SKIPPED_SINGLE_REASON = "number on the Blacklist"
UNKNOWN_REASON = "no answer: the worker stopped after submitting; awaiting a report"
# The first key of the advisory lock pair (STOP_GUARD, account id) that orders a STOP's
# commit against submissions to that account's numbers (see the module's docstring).
STOP_GUARD = 73_01
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOutcome:
    claimed: int = 0
    last_id: int = 0  # the cursor for the next claim of the same task
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    refunded: int = 0
    retry: int = 0  # given back to the queue: the gateway could not be reached
    unknown: int = 0  # submitted, no answer: never sent again by the platform


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
    vacuum, and seeking past them keeps every claim as fast as the first).

    Rows claimed before (`attempts` > 0: their batch crashed, or its worker died) are
    taken one at a time once the others are out, so one poisonous message fails alone.
    """
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""

    def sql(condition: str) -> str:
        return (
            f"UPDATE {MESSAGE_TABLE} SET state = %s, claim = %s, claimed_at = %s, "  # noqa: S608
            "attempts = attempts + 1 "
            f"WHERE id IN (SELECT id FROM {MESSAGE_TABLE} "
            f"WHERE campaign_id = %s AND state = %s AND {condition} "
            "AND (not_before IS NULL OR not_before <= %s) "
            f"ORDER BY id LIMIT %s{skip_locked}) "
            "RETURNING id, phone_number, sender_id, text, ucs2, credits"
        )

    head = [MessageState.SENDING, token, now, campaign.pk, MessageState.QUEUED]
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
            cursor.execute(sql("attempts = 0 AND id > %s"), [*head, after_id, now, size])
            rows = cursor.fetchall()
            if not rows:
                cursor.execute(sql("attempts > 0"), [*head, now, 1])
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


@dataclass(frozen=True)
class _Recorded:
    accepted: list[SendResult]
    rejected: list[SendResult]
    retry: list[int]
    sent: int
    failed: int
    unknown: int


def _record(token: str, gateway: str, results: list[SendResult]) -> _Recorded:
    """Write what the gateway answered for a chunk of a claim, in the caller's
    transaction. Only rows still `sending` under `token` move."""
    accepted = [result for result in results if result.accepted]
    unanswered = [result for result in results if result.unknown]
    retry = [result.message_id for result in results if result.retry]
    rejected = [
        result
        for result in results
        if not result.accepted and not result.retry and not result.unknown
    ]
    if retry:
        # The gateway is unreachable: these certainly did not leave. They stay in the
        # claim, unsubmitted, and `_hand_over` gives them back with the rest.
        Message.objects.filter(id__in=retry, claim=token, state=MessageState.SENDING).update(
            submitted_at=None
        )
    done = timezone.now()
    sent = _set_sent(token, gateway, accepted, done)
    unknown = _set_unknown(token, gateway, unanswered, done)
    _remember_sent([result.message_id for result in accepted + unanswered])
    failed = _set_failed(token, gateway, rejected, done)
    return _Recorded(accepted, rejected, retry, sent, failed, unknown)


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


def _set_unknown(token: str, gateway: str, results: list[SendResult], now: datetime) -> int:
    """The gateway may have the message: `unknown` (or what a report already said),
    counted as handed over (a STOP from that number is attributed), never re-sent."""
    if not results:
        return 0
    sql, params = _update_from_pairs(
        f"state = {_SETTLED_BY_REPORT}, gateway = %s, error = v.value, sent_at = %s",
        [*_SETTLED_STATES, gateway, now],
        [(result.message_id, result.error[:255]) for result in results],
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


_LOCK_EACH = (
    "SELECT count({function}(%s, account_id)) "
    "FROM (SELECT unnest(%s::int[]) AS account_id ORDER BY 1) AS accounts"
)


def _lock_each(function: str, account_ids: list[int]) -> None:
    """One statement for all accounts, in account order (no two callers wait in a cycle)."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_EACH.format(function=function), [STOP_GUARD, account_ids])


@contextmanager
def stop_guard(account_ids: Iterable[int]) -> Iterator[None]:
    """Hold the accounts' STOP guard shared while a chunk is checked and submitted.

    Session-level locks (no transaction stays open while the gateway answers), released
    even when the send fails; a dead worker's locks go with its connection. SQLite:
    nothing (one writer at a time)."""
    ids = sorted(set(account_ids))
    if connection.vendor != "postgresql" or not ids:
        yield
        return
    _lock_each("pg_advisory_lock_shared", ids)
    try:
        yield
    finally:
        try:
            _lock_each("pg_advisory_unlock_shared", ids)
        except Exception:  # the connection is gone, and its locks with it
            log.warning("could not release the STOP guard of accounts %s", ids, exc_info=True)


def stop_guard_exclusive(account_ids: Iterable[int]) -> None:
    """`blacklist_add`'s side, in its transaction: wait for the chunks being submitted
    to these accounts' numbers, and hold new ones off until the transaction ends."""
    ids = sorted(set(account_ids))
    if connection.vendor == "postgresql" and ids:
        _lock_each("pg_advisory_xact_lock", ids)


def _outgoing(row: _Claimed) -> OutgoingSms:
    return OutgoingSms(row.id, row.phone_number, row.sender_id, row.text, row.ucs2)


def _mark_submitted(token: str, ids: list[int]) -> set[int]:
    """Commit that these rows are about to reach the gateway; the ids of those still in
    our claim (the sweeper may have taken back a claim it thought abandoned: those stay
    with whoever has them now)."""
    if not ids:
        return set()
    now = timezone.now()
    if connection.vendor == "postgresql":
        where, params = "id = ANY(%s)", [list(ids)]
    else:
        where, params = f"id IN ({', '.join(['%s'] * len(ids))})", list(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {MESSAGE_TABLE} SET submitted_at = %s, claimed_at = %s "  # noqa: S608
            f"WHERE {where} AND claim = %s AND state = %s RETURNING id",
            [now, now, *params, token, MessageState.SENDING],
        )
        return {row[0] for row in cursor.fetchall()}


@dataclass
class _Tally:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    refunded: int = 0
    retry: int = 0

    def outcome(self, *, claimed: int, last_id: int) -> BatchOutcome:
        return BatchOutcome(
            claimed=claimed,
            last_id=last_id,
            sent=self.sent,
            failed=self.failed,
            skipped=self.skipped,
            refunded=self.refunded,
            retry=self.retry,
            unknown=self.unknown,
        )


def _hand_over(
    rows: list[_Claimed],
    token: str,
    accounts: dict[int, int],
    **rules: Any,
) -> _Tally:
    """Send a claim (see `_send_chunks`); whatever that leaves in the claim is given
    back: after a crash as a failed attempt, after an unreachable gateway as none."""
    ids = [row.id for row in rows]
    try:
        tally = _send_chunks(rows, token, accounts, **rules)
    except Exception as error:
        _give_back_safely(token, ids, error)
        raise
    if tally.retry:
        _give_back(token, ids)
    return tally


def _send_chunks(
    rows: list[_Claimed],
    token: str,
    accounts: dict[int, int],
    *,
    skip: Callable[[list[_Claimed]], list[_Claimed]],
    skip_reason: str,
    refund_skipped: Callable[[list[_Claimed]], int],
    refund_rejected: Callable[[list[_Claimed], list[SendResult]], int],
) -> _Tally:
    """Send claimed rows in chunks, each checked against the Blacklist and marked
    submitted under the STOP guard, then recorded. `accounts`: message id → account.

    Stops at an unreachable gateway, leaving the rest of the claim to `_hand_over`."""
    gateway = get_gateway()
    tally = _Tally()
    size = gateway.step(settings.SMS_DISPATCH_SUBMIT_CHUNK)
    renewed = time.monotonic()
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        gateway.pacer.wait(len(chunk))  # outside the guard: a STOP never waits for the pace
        if time.monotonic() - renewed > settings.SMS_CLAIM_TIMEOUT / 3:
            # A slow batch (a paced gateway) is alive: its claim must not look abandoned.
            Message.objects.filter(
                id__in=[row.id for row in rows[start:]], claim=token, state=MessageState.SENDING
            ).update(claimed_at=timezone.now())
            renewed = time.monotonic()
        with stop_guard([accounts[row.id] for row in chunk]):
            skipped = skip(chunk)
            skipped_ids = {row.id for row in skipped}
            gateway.prepare([_outgoing(row) for row in chunk if row.id not in skipped_ids])
            with transaction.atomic():
                if skipped:
                    Message.objects.filter(
                        id__in=skipped_ids, claim=token, state=MessageState.SENDING
                    ).update(
                        state=MessageState.SKIPPED, error=skip_reason, report_at=timezone.now()
                    )
                    tally.refunded += refund_skipped(skipped)
                    tally.skipped += len(skipped)
                ours = _mark_submitted(token, [r.id for r in chunk if r.id not in skipped_ids])
            going = [row for row in chunk if row.id in ours]
            results = gateway.send_batch([_outgoing(row) for row in going], paced=False)
        with transaction.atomic():
            recorded = _record(token, gateway.name, results)
            if recorded.rejected:
                tally.refunded += refund_rejected(going, recorded.rejected)
        gateway.after_accepted([result.message_id for result in recorded.accepted])
        tally.sent += recorded.sent
        tally.failed += recorded.failed
        tally.unknown += recorded.unknown
        tally.retry += len(recorded.retry)
        if recorded.retry:
            break  # the gateway is unreachable: the rest is given back for later
    return tally


def _give_back(token: str, ids: list[int], *, error: BaseException | None = None) -> None:
    """What a claim still holds when its task stops handing over: rows not submitted go
    back to the queue (an unreachable gateway: as if never claimed; a crash: one attempt
    spent, parked at the limit), rows submitted but unrecorded become `unknown`."""
    mine = Message.objects.filter(id__in=ids, claim=token, state=MessageState.SENDING)
    reason = f"{type(error).__name__}: {error}"[:200] if error else ""
    with transaction.atomic():
        if error is None:
            mine.filter(submitted_at__isnull=True).update(
                state=MessageState.QUEUED, claim="", claimed_at=None, attempts=F("attempts") - 1
            )
        else:
            _release(mine, reason=reason)


def _give_back_safely(token: str, ids: list[int], error: BaseException) -> None:
    """After a crash: give the claim back now if the database still answers; if not,
    the sweeper will, once the claim is SMS_CLAIM_TIMEOUT old."""
    log.exception("dispatch of claim %s failed", token)
    try:
        _give_back(token, ids, error=error)
    except Exception:
        log.warning("claim %s left to the sweeper", token, exc_info=True)


def _release(rows: Any, *, reason: str) -> dict[str, int]:
    """Take claimed rows back (a crash, or the sweeper): {"queued", "parked", "unknown"}."""
    limit = settings.SMS_DISPATCH_MAX_ATTEMPTS
    queued = rows.filter(submitted_at__isnull=True, attempts__lt=limit).update(
        state=MessageState.QUEUED, claim="", claimed_at=None
    )
    parked = rows.filter(submitted_at__isnull=True, attempts__gte=limit).update(
        state=MessageState.PARKED,
        claim="",
        claimed_at=None,
        error=f"parked after {limit} failed attempts; last: {reason}"[:255],
    )
    submitted = list(rows.filter(submitted_at__isnull=False).values_list("id", flat=True))
    unknown = 0
    if submitted:
        placeholders = ", ".join(["%s"] * len(submitted))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {MESSAGE_TABLE} SET state = {_SETTLED_BY_REPORT}, "  # noqa: S608
                "sent_at = submitted_at, claim = '', claimed_at = NULL, "
                "error = CASE WHEN report = '' THEN %s ELSE error END "
                f"WHERE id IN ({placeholders}) AND state = %s",
                [
                    *_SETTLED_STATES,
                    UNKNOWN_REASON,
                    *submitted,
                    MessageState.SENDING,
                ],
            )
            unknown = _rowcount(cursor)
        _remember_sent(submitted)
    return {"queued": queued, "parked": parked, "unknown": unknown}


def send_next_batch(
    campaign: Campaign, *, size: int | None = None, after_id: int = 0
) -> BatchOutcome:
    """Claim, check, send and record one batch of `campaign`. Safe to run concurrently.

    `after_id` is the `last_id` of the previous batch of the same task (0 to start).
    """
    size = size or settings.SMS_DISPATCH_BATCH
    token = uuid.uuid4().hex
    claimed = _claim(campaign, token, timezone.now(), size, after_id)
    if not claimed:
        return BatchOutcome()
    account_id = campaign.account_id

    def skip(chunk: list[_Claimed]) -> list[_Claimed]:
        """A STOP that arrived since the launch wins over the campaign."""
        banned = set(
            BlacklistEntry.objects.filter(
                account_id=account_id, phone_number__in=[row.phone_number for row in chunk]
            ).values_list("phone_number", flat=True)
        )
        return [row for row in chunk if row.phone_number in banned]

    def refund_skipped(skipped: list[_Claimed]) -> int:
        return _refund(
            campaign,
            skipped,
            f"campaign:{campaign.pk}:skipped:{token}:{skipped[0].id}",
            f"{len(skipped)} messages skipped: numbers on the Blacklist since the launch",
        )

    def refund_rejected(going: list[_Claimed], rejected: list[SendResult]) -> int:
        rejected_ids = {result.message_id for result in rejected}
        return _refund(
            campaign,
            [row for row in going if row.id in rejected_ids],
            f"campaign:{campaign.pk}:rejected:{token}:{min(rejected_ids)}",
            f"{len(rejected)} messages refused by the gateway",
        )

    tally = _hand_over(
        claimed,
        token,
        dict.fromkeys((row.id for row in claimed), account_id),
        skip=skip,
        skip_reason=SKIPPED_REASON,
        refund_skipped=refund_skipped,
        refund_rejected=refund_rejected,
    )
    if len(claimed) < size:
        complete_if_done(campaign)  # the last batch: nothing was left to claim
    return tally.outcome(claimed=len(claimed), last_id=max(after_id, claimed[-1].id))


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


def release_abandoned_claims(scope: Q, *, older_than: timedelta) -> dict[str, int]:
    """The sweeper: claims in `scope` older than `older_than` belong to a worker that
    died (or lost its database): rows never submitted go back to the queue (or are
    parked at SMS_DISPATCH_MAX_ATTEMPTS), rows submitted become `unknown` (the tick
    calls this for campaigns and for messages outside campaigns)."""
    cutoff = timezone.now() - older_than
    rows = Message.objects.filter(scope, state=MessageState.SENDING, claimed_at__lt=cutoff)
    return _release(rows, reason=f"its worker stopped (claim older than {older_than})")


def cancel_unsent(campaign: Campaign) -> int:
    """Cancel the queued (and parked) messages of a campaign being cancelled and refund
    them.

    Runs in the caller's transaction, which holds the campaign's row lock: claims wait.
    """
    queued = Message.objects.filter(
        campaign_id=campaign.pk, state__in=[MessageState.QUEUED, MessageState.PARKED]
    )
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

    The same guards as campaigns: a row is handed over only by the task whose UPDATE
    moved it from `queued` to `sending`, in chunks marked submitted under the STOP guard
    of their accounts. A refusal by the gateway is refunded, one entry per message.
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
    Message.objects.filter(id__in=claimed, state=MessageState.QUEUED).update(
        state=MessageState.SENDING,
        claim=token,
        claimed_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    # Read back by primary key (claim has no index): the rows this UPDATE moved.
    taken = Message.objects.filter(id__in=claimed, claim=token, state=MessageState.SENDING)
    rows: list[_Claimed] = []
    accounts: dict[int, int] = {}
    confirmations: set[int] = set()
    for row in taken.order_by("id").values_list(
        "id", "phone_number", "sender_id", "text", "ucs2", "credits", "account_id"
    ):
        rows.append(_Claimed(*row[:6]))
        accounts[row[0]] = row[6]
    if not rows:
        return BatchOutcome()

    def skip(chunk: list[_Claimed]) -> list[_Claimed]:
        """Numbers that went on their account's Blacklist after the message was queued
        (a STOP committed while the send was being written: the STOP's cancellation
        could not see that row yet). A STOP confirmation always leaves."""
        entries = BlacklistEntry.objects.filter(
            account_id__in={accounts[row.id] for row in chunk},
            phone_number__in={row.phone_number for row in chunk},
        ).values_list("account_id", "phone_number", "confirmation_id")
        banned = set()
        for account_id, number, confirmation in entries:
            banned.add((account_id, number))
            confirmations.add(confirmation)
        return [
            row
            for row in chunk
            if (accounts[row.id], row.phone_number) in banned and row.id not in confirmations
        ]

    def refund(rows: list[_Claimed], why: str, notes: dict[int, str]) -> int:
        """One entry per message (a single send's refund is its own), in one call."""
        entries = credits_record(
            movements=[
                Movement(
                    account_id=accounts[row.id],
                    amount=row.credits,
                    kind=EntryKind.REFUND,
                    reference=f"message:{row.id}:{why}",
                    note=notes[row.id][:255],
                )
                for row in rows
                if row.credits
            ]
        )
        return sum(entry.amount for entry in entries)

    def refund_skipped(skipped: list[_Claimed]) -> int:
        return refund(skipped, "skipped", dict.fromkeys(accounts, "number on the Blacklist"))

    def refund_rejected(going: list[_Claimed], rejected: list[SendResult]) -> int:
        notes = {r.message_id: f"refused by the gateway: {r.error}" for r in rejected}
        return refund([row for row in going if row.id in notes], "rejected", notes)

    tally = _hand_over(
        rows,
        token,
        accounts,
        skip=skip,
        skip_reason=SKIPPED_SINGLE_REASON,
        refund_skipped=refund_skipped,
        refund_rejected=refund_rejected,
    )
    return tally.outcome(claimed=len(rows), last_id=rows[-1].id)


def due_standalone_messages(limit: int = 1000) -> tuple[list[int], list[int]]:
    """Queued messages outside campaigns, for the tick: a task that never ran (a lost
    broker message), a gateway that was unreachable, a dead worker's claim. Claiming
    makes a race harmless. (fresh, retried): a message claimed before (its batch crashed
    or its worker died) goes in a task of its own, so a poisonous one fails alone
    instead of spending the attempts of the STOP confirmations sent with it."""
    now = timezone.now()
    due = (
        Message.objects.filter(campaign__isnull=True, state=MessageState.QUEUED)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("id")
        .values_list("id", "attempts")[:limit]
    )
    fresh = [message_id for message_id, attempts in due if not attempts]
    retried = [message_id for message_id, attempts in due if attempts]
    return fresh, retried


# -- support staff's decisions on messages the platform will not settle alone ------------


def _undecided(rows: Any) -> Any:
    """Parked messages, and unknown ones no report has settled."""
    return rows.filter(
        Q(state=MessageState.PARKED) | Q(state=MessageState.UNKNOWN, report="")
    ).exclude(campaign__status=CampaignStatus.CANCELLED)


def messages_send_again(rows: Any) -> int:
    """Support staff's decision: these messages did not reach the gateway (a parked
    batch, or an unknown outcome that no report settled and the carrier confirms it
    never had): queue them again, as new. Their campaigns go on sending (a completed
    one is reopened). Returns how many were queued."""
    from campaigns.tasks import send_messages as send_task
    from campaigns.tasks import start_dispatch
    from smsplatform.tasks import enqueue

    with transaction.atomic():
        ids = list(_undecided(rows).select_for_update(of=("self",)).values_list("id", flat=True))
        if not ids:
            return 0
        Message.objects.filter(id__in=ids).update(
            state=MessageState.QUEUED,
            attempts=0,
            claim="",
            claimed_at=None,
            submitted_at=None,
            sent_at=None,
            gateway="",
            gateway_id="",
            error="",
        )
        campaign_ids = set(
            Message.objects.filter(id__in=ids, campaign__isnull=False).values_list(
                "campaign_id", flat=True
            )
        )
        now = timezone.now()
        Campaign.objects.filter(pk__in=campaign_ids, status=CampaignStatus.COMPLETED).update(
            status=CampaignStatus.SENDING, completed_at=None, dispatched_at=now
        )
        for campaign_id in Campaign.objects.filter(
            pk__in=campaign_ids, status=CampaignStatus.SENDING
        ).values_list("pk", flat=True):
            start_dispatch(campaign_id)
        singles = list(
            Message.objects.filter(id__in=ids, campaign__isnull=True).values_list("id", flat=True)
        )
        if singles:
            enqueue(send_task, singles)
    return len(ids)


def messages_cancel(rows: Any, *, actor: Any = None) -> tuple[int, int]:
    """Support staff's decision: these messages will not be sent (the carrier confirms
    an unknown one never left, or a parked one should not go): cancelled and refunded,
    one ledger entry per message. Returns (messages, credits refunded)."""
    with transaction.atomic():
        taken = list(
            _undecided(rows)
            .select_for_update(of=("self",))
            .values_list("id", "account_id", "credits", "state")
        )
        if not taken:
            return 0, 0
        Message.objects.filter(id__in=[row[0] for row in taken]).update(
            state=MessageState.CANCELLED,
            claim="",
            claimed_at=None,
            report_at=timezone.now(),
            error="cancelled by support staff",
        )
        entries = credits_record(
            movements=[
                Movement(
                    account_id=account_id,
                    amount=credits,
                    kind=EntryKind.REFUND,
                    reference=f"message:{message_id}:cancelled-by-support",
                    note=f"cancelled by support staff (was {state})",
                )
                for message_id, account_id, credits, state in taken
                if credits
            ],
            actor=actor,
        )
    return len(taken), sum(entry.amount for entry in entries)


def resend_unreported(rows: Any, *, older_than: timedelta) -> int:
    """Send again the `unknown` messages of `rows` that no delivery report settled
    within `older_than` of their submission: support staff's decision once the
    gateway's reports had time to arrive (never the platform's own)."""
    cutoff = timezone.now() - older_than
    return messages_send_again(
        rows.filter(state=MessageState.UNKNOWN, report="", submitted_at__lt=cutoff)
    )
