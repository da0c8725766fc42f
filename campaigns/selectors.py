"""Reads on contacts, always scoped to one account."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Account
from campaigns.models import Contact


def contact_list(*, account: Account, search: str = "") -> QuerySet[Contact]:
    contacts = Contact.objects.filter(account=account)
    term = search.strip()
    if term:
        digits = "".join(ch for ch in term if ch.isdigit())
        query = Q(first_name__icontains=term) | Q(last_name__icontains=term)
        if digits:
            # "06 12…" is stored "+336 12…": match on the digits after the leading 0.
            query |= Q(phone_number__contains=digits.lstrip("0") or digits)
        contacts = contacts.filter(query)
    return contacts


def contact_get(*, account: Account, pk: int) -> Contact:
    """Another account's contact is a 404, never a 403: its existence is not told."""
    return get_object_or_404(Contact, account=account, pk=pk)
