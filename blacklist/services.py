"""Replies and the Blacklist: what a STOP does, once.

`receive_inbound` stores the carrier's message first (unique per connection and carrier
id), reads it (blacklist/keywords.py), attributes it, and applies it, all in the
caller's single transaction: the webhook answers 2xx only once everything is committed,
and a carrier's retry of the same id changes nothing.

A STOP's effect (`blacklist_number`), once per account and number:
- the Blacklist entry (unique per account and number) and its history;
- the number leaves the account's contact lists;
- every message of that account to that number not yet handed to the gateway is
  cancelled and refunded: at once outside campaigns; in campaigns (running, paused or
  scheduled) when dispatch checks the Blacklist right before the batch goes to the
  gateway (skipped and refunded, never handed over);
- one confirmation SMS without STOP mention, 1 credit debited even below zero (the law
  requires it), linked to the entry.
A repeated STOP from a number already on that Blacklist sends and debits nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Account, EntryKind
from accounts.services import credits_add, credits_debit
from blacklist.keywords import Intent, read_reply
from blacklist.models import (
    BlacklistEntry,
    BlacklistEvent,
    BlacklistSource,
    GatewayConnection,
    GatewayKind,
    InboundMessage,
    InboundStatus,
    hash_secret,
)
from blacklist.signing import seal
from callbacks.services import emit_inbound
from campaigns.models import Contact, LastSent, Message, MessageState
from campaigns.phone import normalize_number
from campaigns.text import Encoding
from campaigns.text.segments import measure
from smsplatform.errors import DomainError
from smsplatform.tasks import enqueue

log = logging.getLogger(__name__)

STOP_CONFIRMATION_CREDITS = 1
CANCELLED_REASON = "number on the Blacklist (STOP)"


@dataclass(frozen=True)
class Attribution:
    account_id: int
    message_id: int
    campaign_id: int | None


def attribute(number: str, *, now: datetime | None = None) -> Attribution | None:
    """The account whose marketing message most recently reached `number`.

    The platform has one shortcode, so every marketing message went through it. Only
    messages handed to the carrier within SMS_ATTRIBUTION_DAYS count. Reads LastSent
    (one row per number and account, kept by dispatch), never the messages.
    """
    now = now or timezone.now()
    since = now - timedelta(days=settings.SMS_ATTRIBUTION_DAYS)
    row = (
        LastSent.objects.filter(phone_number=number, marketing_at__gte=since)
        .order_by("-marketing_at", "-message_id")
        .values_list("account_id", "message_id", "campaign_id")
        .first()
    )
    return Attribution(*row) if row else None


def confirmation_text(account: Account, region: str) -> str:
    template = (
        settings.SMS_STOP_CONFIRMATION_FR if region == "FR" else settings.SMS_STOP_CONFIRMATION_EN
    )
    return template.format(name=account.name)


def blacklist_numbers(
    *,
    account: Account,
    numbers: list[str],
    source: BlacklistSource,
    inbound: InboundMessage | None = None,
    actor: object | None = None,
    note: str = "",
) -> list[BlacklistEntry]:
    """Put `numbers` on the account's Blacklist with everything that follows but the
    confirmation; the entries this call created. Numbers already there are left alone.

    Set-based: a handful of statements whatever the count (a CSV of 50,000 numbers is
    50 calls of 1,000), and exact under concurrency: the entries are inserted with
    ON CONFLICT DO NOTHING RETURNING, so a number two callers add at once is created
    (and confirmed, and debited) by one of them only.
    """
    numbers = list(dict.fromkeys(numbers))
    if not numbers:
        return []
    with transaction.atomic():
        contacts = {
            phone: (pk, " ".join(part for part in (basis, at.isoformat() if at else "") if part))
            for pk, phone, basis, at in Contact.objects.filter(
                account=account, phone_number__in=numbers
            ).values_list("pk", "phone_number", "consent_basis", "consent_at")
        }
        now = timezone.now()
        rows = [
            (
                account.pk,
                number,
                source,
                now,
                inbound.pk if inbound else None,
                contacts[number][1][:255] if number in contacts else "",
                note[:255],
            )
            for number in numbers
        ]
        created_ids: list[int] = []
        table = BlacklistEntry._meta.db_table
        with db.cursor() as cursor:
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {table} (account_id, phone_number, source, created_at, "  # noqa: S608
                    f"inbound_id, revoked_consent, note) VALUES {values} "
                    "ON CONFLICT (account_id, phone_number) DO NOTHING RETURNING id",
                    [value for row in chunk for value in row],
                )
                created_ids += [row[0] for row in cursor.fetchall()]
        if not created_ids:
            return []
        entries = list(BlacklistEntry.objects.filter(pk__in=created_ids).order_by("pk"))
        added = [entry.phone_number for entry in entries]
        BlacklistEvent.objects.bulk_create(
            BlacklistEvent(
                account=account,
                phone_number=number,
                action=BlacklistEvent.Action.ADDED,
                source=source,
                reason=note[:255],
                inbound=inbound,
                actor=actor,
            )
            for number in added
        )
        Contact.lists.through.objects.filter(
            contact_id__in=[contacts[number][0] for number in added if number in contacts]
        ).delete()
        _cancel_queued(account, added, reference=f"blacklist:{entries[0].pk}:cancelled")
    return entries


def blacklist_number(
    *,
    account: Account,
    number: str,
    source: BlacklistSource,
    inbound: InboundMessage | None = None,
    actor: object | None = None,
    note: str = "",
    confirm: bool = True,
) -> tuple[BlacklistEntry, bool]:
    """One number on the Blacklist, with the confirmation SMS and its credit when
    `confirm`; (entry, created). Already there: nothing happens (no second
    confirmation, no debit)."""
    with transaction.atomic():
        created = blacklist_numbers(
            account=account,
            numbers=[number],
            source=source,
            inbound=inbound,
            actor=actor,
            note=note,
        )
        if not created:
            return BlacklistEntry.objects.get(account=account, phone_number=number), False
        entry = created[0]
        if confirm:
            _confirm(account, number, entry)
    return entry, True


def _cancel_queued(account: Account, numbers: list[str], *, reference: str) -> None:
    """Cancel and refund the account's queued messages to `numbers` outside campaigns.

    Campaign messages to the numbers are left to dispatch, which checks the Blacklist
    right before each batch goes to the gateway: they are skipped and refunded then,
    never handed over. (Looking them up here would need an index on every message's
    number, which made launches and dispatch three times slower.)
    """
    queued = list(
        Message.objects.filter(
            phone_number__in=numbers,
            campaign__isnull=True,
            account=account,
            state=MessageState.QUEUED,
        )
        .select_for_update()
        .values_list("id", "credits")
    )
    if not queued:
        return
    Message.objects.filter(id__in=[pk for pk, _ in queued]).update(
        state=MessageState.CANCELLED, error=CANCELLED_REASON, report_at=timezone.now()
    )
    refund = sum(credits for _, credits in queued)
    if refund:
        credits_add(
            account=account,
            amount=refund,
            kind=EntryKind.REFUND,
            reference=reference,
            note=f"{len(queued)} messages cancelled: numbers on the Blacklist",
        )


def _confirm(account: Account, number: str, entry: BlacklistEntry) -> None:
    region = normalize_number(number).region
    text = confirmation_text(account, region)
    measured = measure(text)
    message = Message.objects.create(
        account=account,
        campaign=None,
        phone_number=number,
        region=region,
        sender_id="",  # the shortcode: the gateway's default sender
        text=text,
        ucs2=measured.encoding is Encoding.UCS2,
        segments=measured.segments,
        credits=STOP_CONFIRMATION_CREDITS,
        marketing=False,
    )
    credits_debit(
        account=account,
        amount=STOP_CONFIRMATION_CREDITS,
        kind=EntryKind.STOP_CONFIRMATION,
        reference=f"stop-confirmation:{entry.pk}",
        note=f"STOP confirmation to {number}",
        allow_negative=True,  # the law requires the confirmation
    )
    entry.confirmation = message
    entry.save(update_fields=["confirmation"])
    from campaigns.tasks import send_messages

    enqueue(send_messages, [message.pk])


def unblacklist_after_start(*, account: Account, number: str, inbound: InboundMessage) -> bool:
    """START removes an entry an SMS STOP made; never a manual or any other one."""
    deleted, _ = BlacklistEntry.objects.filter(
        account=account, phone_number=number, source=BlacklistSource.STOP_SMS
    ).delete()
    if deleted:
        BlacklistEvent.objects.create(
            account=account,
            phone_number=number,
            action=BlacklistEvent.Action.REMOVED,
            source=BlacklistSource.STOP_SMS,
            reason="START reply",
            inbound=inbound,
        )
    return bool(deleted)


def receive_inbound(
    *, connection: GatewayConnection, carrier_id: str, sender: str, receiver: str, text: str
) -> tuple[InboundMessage, bool]:
    """Store and apply one reply, once per (connection, carrier_id); (message, new).

    `sender` is an E.164 number already checked by the webhook.
    """
    reading = read_reply(text)
    with transaction.atomic():
        try:
            with transaction.atomic():
                inbound = InboundMessage.objects.create(
                    connection=connection,
                    carrier_id=carrier_id,
                    sender=sender,
                    receiver=receiver,
                    text=text,
                    intent=reading.intent.value,
                    rule=reading.rule,
                    status=InboundStatus.REPLY,
                )
        except IntegrityError:
            # The carrier's retry of a message already stored (and applied): nothing more.
            return InboundMessage.objects.get(connection=connection, carrier_id=carrier_id), False
        attribution = attribute(sender)
        if attribution:
            inbound.account_id = attribution.account_id
            inbound.answers_id = attribution.message_id
            inbound.campaign_id = attribution.campaign_id
        inbound.status = _apply(inbound, reading.intent, attribution)
        inbound.save(update_fields=["account", "answers", "campaign", "status"])
        emit_inbound(inbound)  # customer callbacks: queued on commit, only if the account listens
    log.info(
        "inbound %s from %s: %s -> %s (account %s)",
        carrier_id,
        sender,
        reading.intent,
        inbound.status,
        inbound.account_id,
    )
    return inbound, True


def _apply(inbound: InboundMessage, intent: Intent, attribution: Attribution | None) -> str:
    if intent is Intent.STOP:
        if attribution is None:
            return InboundStatus.UNATTRIBUTED
        return apply_stop(inbound, Account.objects.get(pk=attribution.account_id))
    if attribution is None:
        return InboundStatus.UNKNOWN_SENDER
    if intent is Intent.START:
        account = Account.objects.get(pk=attribution.account_id)
        removed = unblacklist_after_start(account=account, number=inbound.sender, inbound=inbound)
        return InboundStatus.RESUBSCRIBED if removed else InboundStatus.START_IGNORED
    if intent is Intent.HELP:
        return InboundStatus.HELP
    return InboundStatus.REPLY


def apply_stop(inbound: InboundMessage, account: Account, actor: object | None = None) -> str:
    _entry, created = blacklist_number(
        account=account,
        number=inbound.sender,
        source=BlacklistSource.STOP_SMS,
        inbound=inbound,
        actor=actor,
        note=f"SMS STOP: {inbound.text}"[:255],
    )
    return InboundStatus.BLACKLISTED if created else InboundStatus.ALREADY


def assign_unattributed(inbound: InboundMessage, account: Account, actor: object) -> str:
    """Support staff give an unattributed STOP its account: everything a STOP does."""
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
        if locked.status != InboundStatus.UNATTRIBUTED:
            return locked.status
        locked.account = account
        locked.assigned_by = actor
        locked.status = apply_stop(locked, account, actor)
        locked.save(update_fields=["account", "assigned_by", "status"])
        return locked.status


# -- gateway connections ------------------------------------------------------------------


def _new_secret() -> str:
    import secrets

    return secrets.token_urlsafe(24)


def connection_create(*, name: str, kind: str) -> tuple[GatewayConnection, str]:
    """A new connection and its secret, returned once (only its hash is kept)."""
    secret = _new_secret()
    connection = GatewayConnection.objects.create(
        name=name,
        kind=kind,
        secret_hash=hash_secret(secret),
        secret_hint=secret[:4],
        signing_secret=seal(secret) if kind == GatewayKind.JSON else "",
    )
    return connection, secret


def connection_rotate(connection: GatewayConnection) -> str:
    """A new secret for the connection; the old one stops working at once."""
    secret = _new_secret()
    connection.secret_hash = hash_secret(secret)
    connection.secret_hint = secret[:4]
    connection.signing_secret = seal(secret) if connection.kind == GatewayKind.JSON else ""
    connection.rotated_at = timezone.now()
    connection.save(update_fields=["secret_hash", "secret_hint", "signing_secret", "rotated_at"])
    return secret


def connection_for_secret(secret: str, kind: str) -> GatewayConnection | None:
    if not secret:
        return None
    return GatewayConnection.objects.filter(
        secret_hash=hash_secret(secret), kind=kind, active=True
    ).first()


# -- the customer area ------------------------------------------------------------------


# What the account put there itself (by hand or through the API) it may take back; a
# STOP, the unsubscribe page, support or an import recorded the recipient's or someone
# else's decision, which only a START (or support) undoes.
REMOVABLE_SOURCES = frozenset({BlacklistSource.MANUAL, BlacklistSource.API})


class NotRemovable(DomainError):
    """Only numbers the account added itself can be taken off its Blacklist."""

    code = "not_removable"
    http_status = 409

    def __init__(self, source: str) -> None:
        super().__init__(
            gettext(
                "Only numbers the account added itself (by hand or through the API) can be "
                "removed; this one came from: %(source)s."
            )
            % {"source": source},
            source=source,
        )


def blacklist_remove(*, entry: BlacklistEntry, actor: object, reason: str) -> None:
    """Take an entry the account added off the Blacklist, the reason kept in its history."""
    if entry.source not in REMOVABLE_SOURCES:
        raise NotRemovable(str(entry.get_source_display()))
    with transaction.atomic():
        BlacklistEvent.objects.create(
            account_id=entry.account_id,
            phone_number=entry.phone_number,
            action=BlacklistEvent.Action.REMOVED,
            source=entry.source,
            reason=reason[:255],
            actor=actor,
        )
        entry.delete()
