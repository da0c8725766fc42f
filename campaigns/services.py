"""Writes on contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Account
from campaigns.errors import DuplicateContact
from campaigns.models import Contact
from campaigns.phone import normalize_number


def contact_create(
    *,
    account: Account,
    phone_number: str,
    first_name: str = "",
    last_name: str = "",
    fields: dict[str, Any] | None = None,
    consent_basis: str = "",
    consent_at: datetime | None = None,
) -> Contact:
    """Create a contact from a typed number (raises InvalidNumber, DuplicateContact).

    >>> contact_create(account=acme, phone_number="06 12 34 56 78")  # doctest: +SKIP
    <Contact: +33612345678>
    """
    number = normalize_number(phone_number)
    try:
        with transaction.atomic():
            return Contact.objects.create(
                account=account,
                phone_number=number.e164,
                region=number.region,
                first_name=first_name,
                last_name=last_name,
                fields=fields or {},
                consent_basis=consent_basis,
                consent_at=consent_at,
            )
    except IntegrityError:
        # The unique constraint is the guard: two concurrent creations of the same number
        # end with one contact and a clear error for the second.
        raise DuplicateContact(phone_number=number.e164) from None


def contact_update(
    *,
    contact: Contact,
    phone_number: str,
    first_name: str,
    last_name: str,
    consent_basis: str,
    consent_at: datetime | None,
) -> Contact:
    number = normalize_number(phone_number)
    contact.phone_number = number.e164
    contact.region = number.region
    contact.first_name = first_name
    contact.last_name = last_name
    contact.consent_basis = consent_basis
    contact.consent_at = consent_at
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        raise DuplicateContact(phone_number=number.e164) from None
    return contact


def contact_delete(*, contact: Contact) -> None:
    contact.delete()
