"""Every write that matters on accounts, credits and pricing.

Each service is keyword-only, runs in one transaction, and raises our domain errors.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser as User
from django.db import connection as db
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from accounts.errors import InsufficientCredits, ReferenceConflict, StopMentionRequired
from accounts.models import (
    API_KEY_PREFIX,
    UNSUBSCRIBE_CODE_ALPHABET,
    Account,
    AccountType,
    ApiKey,
    AuditAction,
    AuditLog,
    CountryRate,
    CreditEntry,
    EntryKind,
    IdempotencyRecord,
    Membership,
    Role,
    new_unsubscribe_code,
)
from smsplatform.errors import DomainError
from smsplatform.sql import insert_rows, marks, select, set_by_id


def _audit(
    *,
    account: Account | None,
    actor: User | None,
    action: AuditAction,
    before: str,
    after: str,
    reason: str = "",
) -> AuditLog:
    return AuditLog.objects.create(
        account=account, actor=actor, action=action, before=before, after=after, reason=reason
    )


def _lock(account: Account) -> Account:
    # A row lock on the account serialises every balance change and type switch of
    # that account (PostgreSQL; SQLite serialises all writers anyway).
    return Account.objects.select_for_update().get(pk=account.pk)


def account_create(
    *,
    name: str,
    slug: str,
    owner: User | None = None,
    account_type: AccountType = AccountType.MARKETING,
    default_sender_id: str = "",
    actor: User | None = None,
) -> Account:
    """Create an account (Marketing unless said otherwise) and its owner's membership.

    >>> account_create(name="Boulangerie Paul", slug="paul", owner=user)  # doctest: +SKIP
    """
    with transaction.atomic():
        account = Account(
            name=name,
            slug=slug,
            account_type=account_type,
            default_sender_id=default_sender_id,
            add_stop_mention=True,
        )
        # A random 3-character code can collide; retry with a fresh one a few times.
        for _attempt in range(20):
            account.unsubscribe_code = new_unsubscribe_code()
            if not Account.objects.filter(unsubscribe_code=account.unsubscribe_code).exists():
                break
        account.save()
        if owner is not None:
            Membership.objects.create(user=owner, account=account, role=Role.OWNER)
        _audit(
            account=account,
            actor=actor,
            action=AuditAction.ACCOUNT_CREATED,
            before="",
            after=account.account_type,
        )
    return account


def account_switch_type(
    *, account: Account, new_type: AccountType, actor: User | None, reason: str
) -> Account:
    """Switch an account between Marketing and Notification (support staff only).

    Switching to Marketing turns the STOP mention back on in the same transaction: the
    law's requirement applies from the next message on. A switch to the current type
    changes nothing and writes no audit entry.

    >>> account_switch_type(
    ...     account=acme, new_type=AccountType.NOTIFICATION, actor=staff,
    ...     reason="Sends only appointment reminders",
    ... )  # doctest: +SKIP
    """
    if not reason.strip():
        raise DomainError("A reason is required to switch an account's type.")
    with transaction.atomic():
        locked = _lock(account)
        if locked.account_type == new_type:
            return locked
        before = locked.account_type
        locked.account_type = new_type
        if new_type == AccountType.MARKETING:
            locked.add_stop_mention = True
        locked.save(update_fields=["account_type", "add_stop_mention"])
        _audit(
            account=locked,
            actor=actor,
            action=AuditAction.TYPE_SWITCHED,
            before=before,
            after=new_type,
            reason=reason.strip(),
        )
    account.account_type = locked.account_type
    account.add_stop_mention = locked.add_stop_mention
    return locked


def account_set_stop_mention(*, account: Account, enabled: bool, actor: User | None) -> Account:
    """Turn the automatic STOP mention on or off (Settings > Alerts).

    Raises StopMentionRequired for a Marketing account asking to turn it off, whatever
    the browser sent.
    """
    with transaction.atomic():
        locked = _lock(account)
        if not enabled and locked.account_type == AccountType.MARKETING:
            raise StopMentionRequired()
        if locked.add_stop_mention == enabled:
            return locked
        locked.add_stop_mention = enabled
        locked.save(update_fields=["add_stop_mention"])
        _audit(
            account=locked,
            actor=actor,
            action=AuditAction.STOP_SETTING_CHANGED,
            before=str(not enabled).lower(),
            after=str(enabled).lower(),
        )
    account.add_stop_mention = locked.add_stop_mention
    return locked


def account_update_profile(*, account: Account, default_sender_id: str, timezone: str) -> Account:
    """Save the account's everyday settings (validated by the form)."""
    with transaction.atomic():
        Account.objects.filter(pk=account.pk).update(
            default_sender_id=default_sender_id, timezone=timezone
        )
    account.default_sender_id = default_sender_id
    account.timezone = timezone
    return account


@dataclass(frozen=True)
class Movement:
    """One ledger entry to record: `amount` credits (> 0 credit, < 0 debit), once per
    `reference`. Only a debit the law forces on us sets `allow_negative` (the STOP
    confirmation SMS must be sent even from an empty account)."""

    account_id: int
    amount: int
    kind: EntryKind
    reference: str
    note: str = ""
    allow_negative: bool = False


def credits_record(
    *, movements: Sequence[Movement], actor: User | None = None
) -> list[CreditEntry]:
    """Record several ledger entries, of one account or many, in one transaction and a
    handful of statements whatever their number; the entries, in the given order.

    The rule of every balance change lives here: the accounts' rows are locked (in id
    order, so two callers never wait on each other in a cycle), each entry carries the
    balance after it, and the stored balance moves by the entries' sum in the same
    transaction. A reference already in the ledger for the same account and amount is
    a retry: its first entry is returned and nothing is recorded again. The same
    reference used for anything else raises ReferenceConflict; a debit that would take
    a balance below zero raises InsufficientCredits(needed, available), unless it
    `allow_negative`. Either error records nothing.

    >>> credits_record(movements=[
    ...     Movement(account_id=7, amount=-1, kind=EntryKind.STOP_CONFIRMATION,
    ...              reference="stop-confirmation:12", allow_negative=True),
    ...     Movement(account_id=9, amount=4, kind=EntryKind.REFUND, reference="refund:3"),
    ... ])  # doctest: +SKIP
    """
    return _record(movements, actor)[0]


def _record(
    movements: Sequence[Movement], actor: User | None
) -> tuple[list[CreditEntry], dict[int, int]]:
    """credits_record, with each locked account's balance after the entries."""
    if not movements:
        return [], {}
    if any(movement.amount == 0 for movement in movements):
        raise DomainError("A ledger entry cannot be zero.")
    references = [movement.reference for movement in movements]
    if len(set(references)) != len(references):
        raise DomainError("Two ledger entries of one operation share a reference.")
    with transaction.atomic():
        accounts = sorted({movement.account_id for movement in movements})
        balances = dict(
            select(
                f"SELECT id, credit_balance FROM {Account._meta.db_table} "  # noqa: S608
                f"WHERE id IN ({marks(accounts)}) ORDER BY id FOR UPDATE",
                accounts,
            )
            if db.vendor == "postgresql"
            else select(  # SQLite has no row locks: it serialises every writer anyway
                f"SELECT id, credit_balance FROM {Account._meta.db_table} "  # noqa: S608
                f"WHERE id IN ({marks(accounts)})",
                accounts,
            )
        )
        # Holding the locks, a retry with the same reference cannot race its first run;
        # the unique constraint on `reference` is the guard behind this check.
        existing = {}
        if select(
            f"SELECT 1 FROM {CreditEntry._meta.db_table} "  # noqa: S608
            f"WHERE reference IN ({marks(references)}) LIMIT 1",
            references,
        ):
            existing = {
                entry.reference: entry
                for entry in CreditEntry.objects.filter(reference__in=references)
            }
        entries: list[CreditEntry] = []
        new: list[CreditEntry] = []
        for movement in movements:
            first = existing.get(movement.reference)
            if first is not None:
                if first.account_id != movement.account_id or first.amount != movement.amount:
                    raise ReferenceConflict(
                        f"Ledger reference {movement.reference!r} was already used for "
                        "another operation.",
                        reference=movement.reference,
                    )
                entries.append(first)
                continue
            balance = balances[movement.account_id] + movement.amount
            if movement.amount < 0 and balance < 0 and not movement.allow_negative:
                raise InsufficientCredits(
                    needed=-movement.amount, available=balances[movement.account_id]
                )
            balances[movement.account_id] = balance
            entry = CreditEntry(
                account_id=movement.account_id,
                amount=movement.amount,
                kind=movement.kind,
                reference=movement.reference,
                balance_after=balance,
                note=movement.note[:300],
                created_by=actor,
            )
            entries.append(entry)
            new.append(entry)
        if not new:
            return entries, balances
        _insert_entries(new)
        deltas: dict[int, int] = {}
        for entry in new:
            deltas[entry.account_id] = deltas.get(entry.account_id, 0) + entry.amount
        # Relative (balance + delta) even if a future caller forgets the lock; one
        # statement moves every account's balance by the sum of its new entries.
        set_by_id(Account._meta.db_table, "credit_balance", deltas, add=True)
    return entries, balances


def _insert_entries(entries: list[CreditEntry]) -> None:
    """Insert new entries, ids set on them; ReferenceConflict if another transaction
    recorded one of their references meanwhile (possible only across accounts, whose
    locks differ). ON CONFLICT DO NOTHING instead of a savepoint: the caller's
    transaction stays usable and the error explains itself."""
    now = timezone.now()
    for entry in entries:
        entry.created_at = now
    ids = {
        reference: pk
        for pk, reference in insert_rows(
            CreditEntry._meta.db_table,
            [
                {
                    "account_id": entry.account_id,
                    "amount": entry.amount,
                    "kind": entry.kind,
                    "reference": entry.reference,
                    "balance_after": entry.balance_after,
                    "note": entry.note,
                    "created_by_id": entry.created_by_id,
                    "created_at": now,
                }
                for entry in entries
            ],
            on_conflict="(reference) DO NOTHING",
            returning="id, reference",
        )
    }
    for entry in entries:
        if entry.reference not in ids:
            raise ReferenceConflict(
                f"Ledger reference {entry.reference!r} was already used.",
                reference=entry.reference,
            )
        entry.pk = ids[entry.reference]
        entry._state.adding = False


def _record_entry(
    *,
    account: Account,
    amount: int,
    kind: EntryKind,
    reference: str,
    actor: User | None,
    note: str,
    allow_negative: bool,
) -> CreditEntry:
    (entry,), balances = _record(
        [
            Movement(
                account_id=account.pk,
                amount=amount,
                kind=kind,
                reference=reference,
                note=note,
                allow_negative=allow_negative,
            )
        ],
        actor,
    )
    account.credit_balance = balances[account.pk]
    return entry


def credits_debit(
    *,
    account: Account,
    amount: int,
    kind: EntryKind,
    reference: str,
    actor: User | None = None,
    note: str = "",
    allow_negative: bool = False,
) -> CreditEntry:
    """Take `amount` (> 0) credits from the account, once per `reference`.

    Refuses to overdraw with InsufficientCredits(needed, available), unless
    `allow_negative` is set. Only debits the law forces on us may set it: the STOP
    confirmation SMS must be sent even from an empty account (the account then cannot
    launch campaigns until topped up).

    >>> credits_debit(account=acme, amount=3, kind=EntryKind.MESSAGE,
    ...               reference="message:981")  # doctest: +SKIP
    <CreditEntry: Acme -3 (message)>
    """
    if amount <= 0:
        raise DomainError("A debit must be a positive number of credits.")
    return _record_entry(
        account=account,
        amount=-amount,
        kind=kind,
        reference=reference,
        actor=actor,
        note=note,
        allow_negative=allow_negative,
    )


def credits_add(
    *,
    account: Account,
    amount: int,
    kind: EntryKind,
    reference: str,
    actor: User | None = None,
    note: str = "",
) -> CreditEntry:
    """Give `amount` (> 0) credits to the account (purchase, refund), once per reference."""
    if amount <= 0:
        raise DomainError("A credit must be a positive number of credits.")
    return _record_entry(
        account=account,
        amount=amount,
        kind=kind,
        reference=reference,
        actor=actor,
        note=note,
        allow_negative=False,
    )


def credits_adjust(
    *, account: Account, amount: int, actor: User | None, reason: str
) -> CreditEntry:
    """A support staff's correction, positive or negative, audited with its reason.

    A negative adjustment cannot take the balance below zero.
    """
    if not reason.strip():
        raise DomainError("A reason is required to adjust credits.")
    with transaction.atomic():
        before = Account.objects.select_for_update().get(pk=account.pk).credit_balance
        entry = _record_entry(
            account=account,
            amount=amount,
            kind=EntryKind.ADJUSTMENT,
            reference=f"adjustment:{uuid.uuid4()}",
            actor=actor,
            note=reason.strip(),
            allow_negative=False,
        )
        _audit(
            account=account,
            actor=actor,
            action=AuditAction.CREDITS_ADJUSTED,
            before=str(before),
            after=str(entry.balance_after),
            reason=reason.strip(),
        )
    return entry


def rate_set(*, region: str, credits_per_segment: int, actor: User | None) -> CountryRate:
    """Set the credits per segment for a region ("ZZ": any other country), audited."""
    if credits_per_segment < 1:
        raise DomainError("A rate is at least 1 credit per segment.")
    region = region.upper()
    with transaction.atomic():
        rate, created = CountryRate.objects.select_for_update().get_or_create(
            region=region, defaults={"credits_per_segment": credits_per_segment}
        )
        before = "" if created else str(rate.credits_per_segment)
        if not created:
            if rate.credits_per_segment == credits_per_segment:
                return rate
            rate.credits_per_segment = credits_per_segment
            rate.save(update_fields=["credits_per_segment", "updated_at"])
        _audit(
            account=None,
            actor=actor,
            action=AuditAction.RATE_CHANGED,
            before=f"{region}: {before}" if before else "",
            after=f"{region}: {credits_per_segment}",
        )
    return rate


# -- API keys -----------------------------------------------------------------------------

API_KEY_PREFIX_LENGTH = 8
# last_used_at is a hint for people, not an audit trail: one write a minute per key at
# most keeps a busy key from turning every API call into an UPDATE.
API_KEY_TOUCH_EVERY = timedelta(minutes=1)


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_create(*, account: Account, name: str, created_by: User | None) -> tuple[ApiKey, str]:
    """A new key for `account` and its secret, returned once: only its hash is kept.

    >>> key, raw = api_key_create(
    ...     account=acme, name="shop backend", created_by=owner
    ... )  # doctest: +SKIP
    >>> raw  # doctest: +SKIP
    'smsk_k3x9q2ab_Yt1...'
    """
    name = name.strip()
    if not name:
        raise DomainError(gettext("Give the key a name."))
    with transaction.atomic():
        for _attempt in range(10):
            prefix = "".join(
                secrets.choice(UNSUBSCRIBE_CODE_ALPHABET) for _ in range(API_KEY_PREFIX_LENGTH)
            )
            if not ApiKey.objects.filter(prefix=prefix).exists():
                break
        raw = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        key = ApiKey.objects.create(
            account=account,
            name=name[:80],
            prefix=prefix,
            key_hash=hash_api_key(raw),
            created_by=created_by,
        )
    return key, raw


def api_key_revoke(*, key: ApiKey, actor: User | None) -> ApiKey:
    """Revoke a key: the next request with it is refused (401). Revoking twice is a no-op."""
    with transaction.atomic():
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor
        )
    key.refresh_from_db()
    return key


def api_key_touch(*, key: ApiKey) -> None:
    """Note that the key was just used, at most once a minute (a conditional UPDATE, so
    concurrent requests write it once)."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < API_KEY_TOUCH_EVERY:
        return
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - API_KEY_TOUCH_EVERY), pk=key.pk
    ).update(last_used_at=now)
    key.last_used_at = now


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Forget API answers older than SMS_IDEMPOTENCY_HOURS: a retry after that runs
    afresh. The tick calls this."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.SMS_IDEMPOTENCY_HOURS)
    deleted, _counts = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
