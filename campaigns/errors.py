from __future__ import annotations

from django.utils.translation import gettext as _

from smsplatform.errors import DomainError


class DuplicateContact(DomainError):
    code = "duplicate_contact"
    http_status = 409

    def __init__(self, *, phone_number: str) -> None:
        super().__init__(
            _("A contact with the number %(number)s already exists.") % {"number": phone_number},
            phone_number=phone_number,
        )
