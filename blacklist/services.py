"""Replies and the Blacklist: what a STOP does, once.

`receive_replies` stores the carriers' messages first (unique per connection and
carrier id), reads them (blacklist/keywords.py), attributes them, and applies them, all
in one transaction: the webhook answers 2xx only once everything is committed, and a
carrier's retry of the same id changes nothing.

A STOP's effect (`blacklist_add`), once per account and number:
- the Blacklist entry (unique per account and number) and its history;
- the number leaves the account's contact lists;
- every message of that account to that number not yet handed to the gateway is
  cancelled and refunded: at once outside campaigns; in campaigns (running, paused or
  scheduled) when dispatch checks the Blacklist right before the batch goes to the
  gateway (skipped and refunded, never handed over);
- one confirmation SMS without STOP mention, 1 credit debited even below zero (the law
  requires it), linked to the entry.
A repeated STOP from a number already on that Blacklist sends and debits nothing.

Everything here is set-based (a few statements for one reply or a thousand), so that
the webhook can commit the replies of concurrent requests together (blacklist/intake.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser as User
from django.db import connection as db
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Account, EntryKind
from accounts.services import Movement, credits_record
from blacklist.keywords import Intent, Reading, read_reply
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
from campaigns.dispatch import stop_guard_exclusive
from campaigns.models import Contact, LastSent, Message, MessageState
from campaigns.phone import normalize_number
from campaigns.text import Encoding
from campaigns.text.segments import measure
from smsplatform.errors import DomainError
from smsplatform.sql import insert_rows, marks, pairs_in, select, set_by_id
from smsplatform.tasks import enqueue

log = logging.getLogger(__name__)

STOP_CONFIRMATION_CREDITS = 1
CANCELLED_REASON = "number on the Blacklist (STOP)"


@dataclass(frozen=True)
class Attribution:
    account_id: int
    message_id: int
    campaign_id: int | None


def attribute_many(
    numbers: Iterable[str], *, now: datetime | None = None
) -> dict[str, Attribution]:
    """For each number, the account whose marketing message most recently reached it.

    The platform has one shortcode, so every marketing message went through it. Only
    messages handed to the carrier within SMS_ATTRIBUTION_DAYS count. Reads LastSent
    (one row per number and account, kept by dispatch), never the messages: one query
    whatever the count, a few rows per number (one per account that messaged it).
    """
    numbers = sorted(set(numbers))
    if not numbers:
        return {}
    since = (now or timezone.now()) - timedelta(days=settings.SMS_ATTRIBUTION_DAYS)
    latest: dict[str, tuple[datetime, int, Attribution]] = {}
    for number, at, account_id, message_id, campaign_id in select(
        "SELECT phone_number, marketing_at, account_id, message_id, campaign_id "  # noqa: S608
        f"FROM {LastSent._meta.db_table} WHERE phone_number IN ({marks(numbers)}) "
        "AND marketing_at >= %s",
        [*numbers, since],
    ):
        if number not in latest or (at, message_id) > latest[number][:2]:
            latest[number] = (at, message_id, Attribution(account_id, message_id, campaign_id))
    return {number: found[2] for number, found in latest.items()}


def attribute(number: str, *, now: datetime | None = None) -> Attribution | None:
    """The account whose marketing message most recently reached `number`, if any."""
    return attribute_many([number], now=now).get(number)


def confirmation_text(account_name: str, region: str) -> str:
    template = (
        settings.SMS_STOP_CONFIRMATION_FR if region == "FR" else settings.SMS_STOP_CONFIRMATION_EN
    )
    return template.format(name=account_name)


@dataclass(frozen=True)
class Addition:
    """One number for one account's Blacklist. `confirm`: the confirmation SMS and its
    credit follow (a STOP, the unsubscribe page), not for numbers added by hand."""

    account_id: int
    number: str  # E.164
    source: BlacklistSource
    inbound_id: int | None = None
    note: str = ""
    confirm: bool = False
    region: str = ""  # the number's, when the caller read it already (else read again)


def blacklist_add(
    *, additions: Sequence[Addition], actor: object | None = None
) -> list[BlacklistEntry]:
    """Put numbers on Blacklists, of one account or many, with everything that follows;
    the entries this call created. A number already on its account's Blacklist is left
    alone: no second confirmation, no second debit.

    For each new entry, in one transaction:
    - the entry (with the consent it revokes) and its history event;
    - the number leaves the account's contact lists;
    - the account's queued messages to it outside campaigns are cancelled and refunded
      (campaign messages are skipped and refunded by dispatch right before their batch
      goes out: looking them up here would need an index on every message's number,
      which made launches and dispatch three times slower);
    - when confirmed: one confirmation SMS without STOP mention, debited 1 credit even
      below zero (the law requires it), linked to the entry, sent once committed.

    Set-based: about ten statements whatever the count, so a CSV of 50,000 numbers and
    the replies of many concurrent webhook requests cost little more than one number.
    Exact under concurrency: entries are inserted ON CONFLICT DO NOTHING RETURNING, so a
    number two callers add at once is created (confirmed, debited) by one of them only.
    Rows are written in (account, number) order, so two callers never wait on each
    other's rows in a cycle.

    >>> blacklist_add(additions=[Addition(account_id=7, number="+33612345678",
    ...     source=BlacklistSource.STOP_SMS, inbound_id=981, confirm=True)])  # doctest: +SKIP
    [<BlacklistEntry: +33612345678 (Boulangerie Paul)>]
    """
    unique: dict[tuple[int, str], Addition] = {}
    for addition in additions:
        unique.setdefault((addition.account_id, addition.number), addition)
    if not unique:
        return []
    ordered = [unique[key] for key in sorted(unique)]
    with transaction.atomic():
        # Wait for the chunks being submitted to these accounts' numbers, and hold new
        # ones off until this commits: no message leaves after its STOP committed.
        stop_guard_exclusive([addition.account_id for addition in ordered])
        consents = _consents(ordered)
        entries = _insert_entries(ordered, consents)
        if not entries:
            return []
        _record_events(entries, BlacklistEvent.Action.ADDED, actor)
        keys = {entry_key(entry) for entry in entries}
        contact_ids = [consents[key][0] for key in keys if key in consents]
        if contact_ids:
            with db.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {Contact.lists.through._meta.db_table} "  # noqa: S608
                    f"WHERE contact_id IN ({marks(contact_ids)})",
                    contact_ids,
                )
        movements = _cancel_queued(entries)
        confirmed = [entry for entry in entries if unique[entry_key(entry)].confirm]
        messages = _confirmations(confirmed, {key: unique[key].region for key in keys})
        movements += [
            Movement(
                account_id=entry.account_id,
                amount=-STOP_CONFIRMATION_CREDITS,
                kind=EntryKind.STOP_CONFIRMATION,
                reference=f"stop-confirmation:{entry.pk}",
                note=f"STOP confirmation to {entry.phone_number}",
                allow_negative=True,  # the law requires the confirmation
            )
            for entry in confirmed
        ]
        credits_record(movements=movements, actor=actor if isinstance(actor, User) else None)
        if messages:
            from campaigns.tasks import send_messages

            enqueue(send_messages, messages)
    return entries


def entry_key(entry: BlacklistEntry) -> tuple[int, str]:
    return (entry.account_id, entry.phone_number)


def _record_events(entries: list[BlacklistEntry], action: str, actor: object | None) -> None:
    """The history: one event per entry."""
    actor_id = actor.pk if isinstance(actor, User) else None
    now = timezone.now()
    insert_rows(
        BlacklistEvent._meta.db_table,
        [
            {
                "account_id": entry.account_id,
                "phone_number": entry.phone_number,
                "action": action,
                "source": entry.source,
                "reason": entry.note,
                "inbound_id": entry.inbound_id,
                "actor_id": actor_id,
                "at": now,
            }
            for entry in entries
        ],
    )


def _consents(additions: list[Addition]) -> dict[tuple[int, str], tuple[int, str]]:
    """(account, number) → (contact id, the consent as the contact had it)."""
    wanted = {(addition.account_id, addition.number) for addition in additions}
    accounts = sorted({account_id for account_id, _ in wanted})
    numbers = sorted({number for _, number in wanted})
    rows = select(
        "SELECT id, account_id, phone_number, consent_basis, consent_at "  # noqa: S608
        f"FROM {Contact._meta.db_table} WHERE account_id IN ({marks(accounts)}) "
        f"AND phone_number IN ({marks(numbers)})",
        [*accounts, *numbers],
    )
    consents = {}
    for pk, account_id, phone, basis, at in rows:
        if (account_id, phone) in wanted:
            if isinstance(at, str):  # SQLite hands raw SQL its text
                at = datetime.fromisoformat(at)
            text = " ".join(part for part in (basis, at.isoformat() if at else "") if part)
            consents[(account_id, phone)] = (pk, text[:255])
    return consents


def _insert_entries(
    additions: list[Addition], consents: dict[tuple[int, str], tuple[int, str]]
) -> list[BlacklistEntry]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the entries this call created."""
    now = timezone.now()
    entries = [
        BlacklistEntry(
            account_id=addition.account_id,
            phone_number=addition.number,
            source=addition.source,
            created_at=now,
            inbound_id=addition.inbound_id,
            revoked_consent=consents.get((addition.account_id, addition.number), (0, ""))[1],
            note=addition.note[:255],
        )
        for addition in additions
    ]
    created = {
        (account_id, phone): pk
        for pk, account_id, phone in insert_rows(
            BlacklistEntry._meta.db_table,
            [
                {
                    "account_id": entry.account_id,
                    "phone_number": entry.phone_number,
                    "source": entry.source,
                    "created_at": now,
                    "inbound_id": entry.inbound_id,
                    "revoked_consent": entry.revoked_consent,
                    "note": entry.note,
                }
                for entry in entries
            ],
            on_conflict="(account_id, phone_number) DO NOTHING",
            returning="id, account_id, phone_number",
        )
    }
    for entry in entries:
        entry.pk = created.get(entry_key(entry))
        entry._state.adding = False
    return [entry for entry in entries if entry.pk is not None]


def _cancel_queued(entries: list[BlacklistEntry]) -> list[Movement]:
    """Cancel the accounts' queued messages to the new entries' numbers outside
    campaigns; the refunds to record, one per account.

    One conditional UPDATE … RETURNING: a message a sending task claims at the same
    moment is either cancelled here or sent there, never both, and only what this
    statement cancelled is refunded. The rows are found through the index of messages
    outside campaigns by number; the state is checked on the rows it finds (a condition
    on the state would let the planner walk every queued message outside campaigns).
    """
    table = Message._meta.db_table
    keys = sorted({entry_key(entry) for entry in entries})
    numbers = sorted({number for _, number in keys})
    pairs, pair_params = pairs_in(("account_id", "phone_number"), keys)
    with db.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, error = %s, report_at = %s "  # noqa: S608
            f"WHERE id IN (SELECT id FROM {table} WHERE campaign_id IS NULL "
            f"AND phone_number IN ({', '.join(['%s'] * len(numbers))}) AND {pairs}) "
            "AND state = %s RETURNING credits, account_id",
            [
                MessageState.CANCELLED,
                CANCELLED_REASON,
                timezone.now(),
                *numbers,
                *pair_params,
                MessageState.QUEUED,
            ],
        )
        cancelled = cursor.fetchall()
    if not cancelled:
        return []
    first_entry: dict[int, int] = {}
    for entry in entries:
        first_entry.setdefault(entry.account_id, entry.pk)
    refunds: dict[int, tuple[int, int]] = {}
    for credits, account_id in cancelled:
        amount, count = refunds.get(account_id, (0, 0))
        refunds[account_id] = (amount + credits, count + 1)
    return [
        Movement(
            account_id=account_id,
            amount=amount,
            kind=EntryKind.REFUND,
            reference=f"blacklist:{first_entry[account_id]}:cancelled",
            note=f"{count} messages cancelled: numbers on the Blacklist",
        )
        for account_id, (amount, count) in refunds.items()
        if amount
    ]


def _confirmations(entries: list[BlacklistEntry], regions: dict[tuple[int, str], str]) -> list[int]:
    """The confirmation SMS of each entry (a platform message: no STOP mention, not
    marketing), linked to it; their ids. The task queued once the transaction commits
    sends them."""
    if not entries:
        return []
    accounts = sorted({entry.account_id for entry in entries})
    names = dict(
        select(
            f"SELECT id, name FROM {Account._meta.db_table} "  # noqa: S608
            f"WHERE id IN ({marks(accounts)})",
            accounts,
        )
    )
    rows = []
    for entry in entries:
        region = regions.get(entry_key(entry)) or normalize_number(entry.phone_number).region
        text = confirmation_text(names[entry.account_id], region)
        measured = measure(text)
        rows.append(
            {
                "account_id": entry.account_id,
                "campaign_id": None,
                "phone_number": entry.phone_number,
                "region": region,
                "sender_id": "",  # the shortcode: the gateway's default sender
                "text": text,
                "ucs2": measured.encoding is Encoding.UCS2,
                "segments": measured.segments,
                "credits": STOP_CONFIRMATION_CREDITS,
                "marketing": False,
                "state": MessageState.QUEUED,
                **dict.fromkeys(("claim", "gateway", "gateway_id", "error", "report"), ""),
            }
        )
    ids = [pk for (pk,) in insert_rows(Message._meta.db_table, rows, returning="id")]
    for entry, pk in zip(entries, ids, strict=True):
        entry.confirmation_id = pk
    set_by_id(
        BlacklistEntry._meta.db_table,
        "confirmation_id",
        {entry.pk: entry.confirmation_id for entry in entries},
    )
    return ids


def blacklist_numbers(
    *,
    account: Account,
    numbers: list[str],
    source: BlacklistSource,
    inbound: InboundMessage | None = None,
    actor: object | None = None,
    note: str = "",
) -> list[BlacklistEntry]:
    """Put `numbers` on one account's Blacklist, without confirmation (numbers added by
    hand or imported); the entries this call created."""
    return blacklist_add(
        additions=[
            Addition(
                account_id=account.pk,
                number=number,
                source=source,
                inbound_id=inbound.pk if inbound else None,
                note=note,
            )
            for number in numbers
        ],
        actor=actor,
    )


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
    `confirm`; (entry, created). Already there: nothing happens."""
    with transaction.atomic():
        created = blacklist_add(
            additions=[
                Addition(
                    account_id=account.pk,
                    number=number,
                    source=source,
                    inbound_id=inbound.pk if inbound else None,
                    note=note,
                    confirm=confirm,
                )
            ],
            actor=actor,
        )
        if not created:
            return BlacklistEntry.objects.get(account=account, phone_number=number), False
    return created[0], True


def unblacklist_after_start(*, account_id: int, number: str, inbound_id: int) -> bool:
    """START removes an entry an SMS STOP made; never a manual or any other one."""
    deleted, _ = BlacklistEntry.objects.filter(
        account_id=account_id, phone_number=number, source=BlacklistSource.STOP_SMS
    ).delete()
    if deleted:
        BlacklistEvent.objects.create(
            account_id=account_id,
            phone_number=number,
            action=BlacklistEvent.Action.REMOVED,
            source=BlacklistSource.STOP_SMS,
            reason="START reply",
            inbound_id=inbound_id,
        )
    return bool(deleted)


@dataclass(frozen=True)
class Reply:
    """One reply as a carrier delivered it, its fields checked by the webhook."""

    connection_id: int
    carrier_id: str
    sender: str  # E.164
    receiver: str
    text: str
    region: str = ""  # the sender's, as the webhook read it


@dataclass(frozen=True)
class Received:
    new: bool  # False: a carrier's retry of a reply already stored, nothing done
    status: str = ""
    inbound_id: int | None = None
    account_id: int | None = None


def receive_inbound(
    *, connection: GatewayConnection, carrier_id: str, sender: str, receiver: str, text: str
) -> Received:
    """Store and apply one reply, once per (connection, carrier_id)."""
    (received,) = receive_replies(
        replies=[Reply(connection.pk, carrier_id, sender, receiver, text)]
    )
    return received


def receive_replies(*, replies: Sequence[Reply]) -> list[Received]:
    """Store and apply replies, each once per (connection, carrier id); what happened to
    each, in the given order.

    The replies are stored first, in one INSERT … ON CONFLICT DO NOTHING: a carrier's
    retry of an id already stored (or twice in `replies`) is not new and changes
    nothing. Each new reply is read (blacklist/keywords.py) and attributed; STOPs go to
    `blacklist_add` together, START and the rest are recorded with their outcome. All
    in one transaction: the caller answers the carrier once it has committed.
    """
    readings = [read_reply(reply.text) for reply in replies]
    attributions = attribute_many(reply.sender for reply in replies)
    rows = []
    for reply, reading in zip(replies, readings, strict=True):
        attribution = attributions.get(reply.sender)
        if reading.intent is Intent.STOP:
            # BLACKLISTED until blacklist_add says the number was already there.
            status = InboundStatus.BLACKLISTED if attribution else InboundStatus.UNATTRIBUTED
        elif attribution is None:
            status = InboundStatus.UNKNOWN_SENDER
        elif reading.intent is Intent.START:
            status = InboundStatus.START_IGNORED  # until the entry is found and removed
        elif reading.intent is Intent.HELP:
            status = InboundStatus.HELP
        else:
            status = InboundStatus.REPLY
        rows.append((reply, reading, attribution, status))
    with transaction.atomic():
        received_at = timezone.now()
        stored = _store_replies(rows, received_at)
        results: list[Received] = []
        stops: list[Addition] = []
        starts: list[tuple[int, Reply, Attribution]] = []
        for reply, reading, attribution, status in rows:
            key = (reply.connection_id, reply.carrier_id)
            inbound_id = stored.pop(key, None)  # the first of duplicates in `replies` only
            if inbound_id is None:
                results.append(Received(new=False))
                continue
            results.append(
                Received(
                    new=True,
                    status=status,
                    inbound_id=inbound_id,
                    account_id=attribution.account_id if attribution else None,
                )
            )
            if attribution and reading.intent is Intent.STOP:
                stops.append(
                    Addition(
                        account_id=attribution.account_id,
                        number=reply.sender,
                        source=BlacklistSource.STOP_SMS,
                        inbound_id=inbound_id,
                        note=f"SMS STOP: {reply.text}"[:255],
                        confirm=True,
                        region=reply.region,
                    )
                )
            elif attribution and reading.intent is Intent.START:
                starts.append((inbound_id, reply, attribution))
        changed: dict[int, str] = {}
        created = {entry_key(entry) for entry in blacklist_add(additions=stops)}
        for addition in stops:
            if (addition.account_id, addition.number) not in created:
                changed[addition.inbound_id] = InboundStatus.ALREADY
        for inbound_id, reply, attribution in starts:
            if unblacklist_after_start(
                account_id=attribution.account_id, number=reply.sender, inbound_id=inbound_id
            ):
                changed[inbound_id] = InboundStatus.RESUBSCRIBED
        for status in set(changed.values()):
            InboundMessage.objects.filter(
                pk__in=[pk for pk, value in changed.items() if value == status]
            ).update(status=status)
        results = [
            replace(result, status=changed.get(result.inbound_id, result.status))
            if result.new
            else result
            for result in results
        ]
        for (reply, reading, attribution, _status), result in zip(rows, results, strict=True):
            if result.new and attribution:
                # Customer callbacks: queued on commit, only if the account listens.
                emit_inbound(
                    inbound_id=result.inbound_id,
                    account_id=attribution.account_id,
                    sender=reply.sender,
                    receiver=reply.receiver,
                    text=reply.text,
                    intent=reading.intent.value,
                    outcome=result.status,
                    campaign_id=attribution.campaign_id,
                    message_id=attribution.message_id,
                    received_at=received_at,
                )
    for reply, result in zip(replies, results, strict=True):
        if result.new:
            log.info(
                "inbound %s from %s -> %s (account %s)",
                reply.carrier_id,
                reply.sender,
                result.status,
                result.account_id,
            )
    return results


def _store_replies(
    rows: list[tuple[Reply, Reading, Attribution | None, str]], now: datetime
) -> dict[tuple[int, str], int]:
    """Insert the replies not stored yet; (connection, carrier id) → id of each new one.

    In (connection, carrier id) order, so that two transactions storing the same ids
    wait on each other in one direction only.
    """
    ordered = sorted(rows, key=lambda row: (row[0].connection_id, row[0].carrier_id))
    stored = insert_rows(
        InboundMessage._meta.db_table,
        [
            {
                "connection_id": reply.connection_id,
                "carrier_id": reply.carrier_id,
                "sender": reply.sender,
                "receiver": reply.receiver,
                "text": reply.text,
                "intent": reading.intent.value,
                "rule": reading.rule,
                "status": status,
                "account_id": attribution.account_id if attribution else None,
                "answers_id": attribution.message_id if attribution else None,
                "campaign_id": attribution.campaign_id if attribution else None,
                "received_at": now,
            }
            for reply, reading, attribution, status in ordered
        ],
        on_conflict="(connection_id, carrier_id) DO NOTHING",
        returning="id, connection_id, carrier_id",
    )
    return {(connection_id, carrier_id): pk for pk, connection_id, carrier_id in stored}


def assign_unattributed(inbound: InboundMessage, account: Account, actor: object) -> str:
    """Support staff give an unattributed STOP its account: everything a STOP does."""
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
        if locked.status != InboundStatus.UNATTRIBUTED:
            return locked.status
        _entry, created = blacklist_number(
            account=account,
            number=locked.sender,
            source=BlacklistSource.STOP_SMS,
            inbound=locked,
            actor=actor,
            note=f"SMS STOP: {locked.text}"[:255],
        )
        locked.account = account
        locked.assigned_by = actor
        locked.status = InboundStatus.BLACKLISTED if created else InboundStatus.ALREADY
        locked.save(update_fields=["account", "assigned_by", "status"])
        # The account learns of the STOP as of any reply (customer callbacks, on commit).
        emit_inbound(
            inbound_id=locked.pk,
            account_id=account.pk,
            sender=locked.sender,
            receiver=locked.receiver,
            text=locked.text,
            intent=locked.intent,
            outcome=locked.status,
            campaign_id=locked.campaign_id,
            message_id=locked.answers_id,
            received_at=locked.received_at,
        )
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
    """The active connection of `kind` whose secret this is, with its id and name loaded
    (the other fields load when read). Every inbound request asks this: a plain query,
    not the ORM's, which costs several times the statement itself."""
    if not secret:
        return None
    rows = select(
        f"SELECT id, name FROM {GatewayConnection._meta.db_table} "  # noqa: S608
        "WHERE secret_hash = %s AND kind = %s AND active",
        [hash_secret(secret), kind],
    )
    return GatewayConnection.from_db("default", ["id", "name"], rows[0]) if rows else None


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
