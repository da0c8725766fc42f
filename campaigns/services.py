"""Writes on contacts, and single messages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import StopMentionRequired
from accounts.models import Account, EntryKind
from accounts.services import credits_debit
from blacklist.models import BlacklistEntry
from campaigns.errors import (
    CampaignError,
    DuplicateContact,
    DuplicateList,
    MessageRefused,
    NumberBlacklisted,
)
from campaigns.models import Contact, ContactList, Message
from campaigns.phone import InvalidNumber, normalize_number
from campaigns.preview import compose_one
from campaigns.sending_hours import next_allowed
from campaigns.text import Encoding
from campaigns.text.mention import FRENCH_REGION
from campaigns.validators import sender_id_validator
from smsplatform.tasks import enqueue

MAX_TEXT_LENGTH = 1600  # as the compose page: longer texts are refused, not cut
# A scheduled message holds its credits until it leaves: not for more than a year.
MAX_SCHEDULE_AHEAD = timedelta(days=365)
# A send time a few seconds old (a slow client, clocks apart) means "now".
PAST_TOLERANCE = timedelta(minutes=1)


def contact_create(
    *,
    account: Account,
    phone_number: str,
    first_name: str = "",
    last_name: str = "",
    fields: dict[str, Any] | None = None,
    consent_basis: str = "",
    consent_at: datetime | None = None,
    lists: Iterable[ContactList] | None = None,
) -> Contact:
    """Create a contact from a typed number (raises InvalidNumber, DuplicateContact).

    >>> contact_create(account=acme, phone_number="06 12 34 56 78")  # doctest: +SKIP
    <Contact: +33612345678>
    """
    number = normalize_number(phone_number)
    chosen = _own_lists(account, lists)
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                account=account,
                phone_number=number.e164,
                region=number.region,
                first_name=first_name,
                last_name=last_name,
                fields=fields or {},
                consent_basis=consent_basis,
                consent_at=consent_at,
            )
            if chosen:
                contact.lists.set(chosen)
            return contact
    except IntegrityError:
        # The unique constraint is the guard: two concurrent creations of the same number
        # end with one contact and a clear error for the second.
        raise DuplicateContact(phone_number=number.e164) from None


def _own_lists(account: Account, lists: Iterable[ContactList] | None) -> list[ContactList]:
    chosen = list(lists or [])
    if any(item.account_id != account.pk for item in chosen):
        raise CampaignError(_("Unknown contact list."), code="unknown_list")
    return chosen


def contact_update(
    *,
    contact: Contact,
    phone_number: str,
    first_name: str,
    last_name: str,
    consent_basis: str,
    consent_at: datetime | None,
    fields: dict[str, Any] | None = None,
    lists: Iterable[ContactList] | None = None,
) -> Contact:
    """Save a contact's values; `fields` and `lists`, when given, replace the old ones."""
    number = normalize_number(phone_number)
    chosen = None if lists is None else _own_lists(contact.account, lists)
    contact.phone_number = number.e164
    contact.region = number.region
    contact.first_name = first_name
    contact.last_name = last_name
    contact.consent_basis = consent_basis
    contact.consent_at = consent_at
    if fields is not None:
        contact.fields = fields
    try:
        with transaction.atomic():
            contact.save()
            if chosen is not None:
                contact.lists.set(chosen)
    except IntegrityError:
        raise DuplicateContact(phone_number=number.e164) from None
    return contact


def contact_delete(*, contact: Contact) -> None:
    contact.delete()


def contact_list_create(*, account: Account, name: str) -> ContactList:
    """A new list; the name is unique in the account (DuplicateList)."""
    try:
        with transaction.atomic():
            return ContactList.objects.create(account=account, name=name.strip())
    except IntegrityError:
        raise DuplicateList(name=name.strip()) from None


def contact_list_rename(*, contact_list: ContactList, name: str) -> ContactList:
    contact_list.name = name.strip()
    try:
        with transaction.atomic():
            contact_list.save(update_fields=["name"])
    except IntegrityError:
        raise DuplicateList(name=name.strip()) from None
    return contact_list


def contact_list_delete(*, contact_list: ContactList) -> None:
    """Delete a list; its contacts stay (they only leave the list)."""
    with transaction.atomic():
        contact_list.delete()


def message_send(
    *,
    account: Account,
    to: str,
    text: str,
    sender: str | None = None,
    stop_mention: bool | None = None,
    send_at: datetime | None = None,
    now: datetime | None = None,
) -> Message:
    """Send one SMS outside campaigns (the API's `POST /messages`), now or at `send_at`.

    The same rules as a campaign, in one transaction: the number is read and must not be
    on the account's Blacklist (NumberBlacklisted); a Marketing account cannot turn the
    STOP mention off (StopMentionRequired: refused, not silently added, so a caller
    never pays for a text other than the one it asked for); the text engine composes and
    prices it (`compose_one`); the credits are debited once (`message:<id>:send`,
    InsufficientCredits with the figures); a Marketing account's French message waits
    for the legal sending hours. The message is queued; a due one is handed to the
    gateway once this commits, a later one by the tick when its time comes (no
    far-future task).

    `sender` and `stop_mention` default to the account's settings.

    >>> message_send(
    ...     account=acme, to="06 12 34 56 78", text="Your table is ready"
    ... )  # doctest: +SKIP
    <Message: +33612345678 (queued)>
    """
    from campaigns.launch import sending_window
    from campaigns.tasks import send_messages

    now = now or timezone.now()
    try:
        number = normalize_number(to)
    except InvalidNumber as error:
        raise MessageRefused(error.message, code="invalid_number", field="to") from None
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        raise MessageRefused(_("Write the message."), code="empty_text", field="text")
    if len(text) > MAX_TEXT_LENGTH:
        raise MessageRefused(
            _("The text has %(count)d characters: at most %(max)d.")
            % {"count": len(text), "max": MAX_TEXT_LENGTH},
            code="text_too_long",
            field="text",
        )
    sender = account.default_sender_id if sender is None else sender.strip()
    if sender:
        try:
            sender_id_validator(sender)
        except ValidationError as error:
            raise MessageRefused(error.messages[0], code="invalid_sender", field="sender") from None
    if account.is_marketing and stop_mention is False:
        raise StopMentionRequired()
    if send_at is not None:
        if timezone.is_naive(send_at):
            raise MessageRefused(_("Give the send time with its time zone."), code="naive_send_at")
        if send_at < now - PAST_TOLERANCE:
            raise MessageRefused(
                _("This time is in the past."), code="send_at_in_the_past", field="send_at"
            )
        if send_at > now + MAX_SCHEDULE_AHEAD:
            raise MessageRefused(
                _("A message can be scheduled up to a year ahead."),
                code="send_at_too_far",
                field="send_at",
            )
    start = send_at if send_at is not None and send_at > now else now
    not_before = start if start > now else None
    if account.is_marketing and number.region == FRENCH_REGION:
        allowed = next_allowed(start, sending_window())
        if allowed > start:
            not_before = allowed

    composition = compose_one(account, text, region=number.region, requested=stop_mention)
    with transaction.atomic():
        entry = (
            BlacklistEntry.objects.filter(account=account, phone_number=number.e164)
            .only("source")
            .first()
        )
        if entry is not None:
            raise NumberBlacklisted(
                phone_number=number.e164, source=str(entry.get_source_display())
            )
        message = Message.objects.create(
            account=account,
            campaign=None,
            phone_number=number.e164,
            region=number.region,
            sender_id=sender,
            text=composition.text_sent,
            ucs2=composition.encoding is Encoding.UCS2,
            segments=composition.segments,
            credits=composition.credits,
            marketing=account.is_marketing,
            not_before=not_before,
            created_at=now,
        )
        credits_debit(
            account=account,
            amount=composition.credits,
            kind=EntryKind.MESSAGE,
            reference=f"message:{message.pk}:send",
            note=f"SMS to {number.e164}",
        )
        if not_before is None:
            enqueue(send_messages, [message.pk])
    return message
