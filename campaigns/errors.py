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


class DuplicateList(DomainError):
    code = "duplicate_list"
    http_status = 409

    def __init__(self, *, name: str) -> None:
        super().__init__(_("A list named “%(name)s” already exists.") % {"name": name}, name=name)


class CampaignError(DomainError):
    """A campaign cannot do what was asked; `code` says why (not_draft, no_recipients…)."""

    http_status = 409

    def __init__(self, message: str, *, code: str, **details: object) -> None:
        super().__init__(message, **details)
        self.code = code


class MessageRefused(DomainError):
    """A single message cannot be sent as asked; `code` says why (`invalid_number`…)."""

    http_status = 422

    def __init__(self, message: str, *, code: str, **details: object) -> None:
        super().__init__(message, **details)
        self.code = code


class NumberBlacklisted(DomainError):
    """The number is on the account's Blacklist: the account must never message it."""

    code = "number_blacklisted"
    http_status = 422

    def __init__(self, *, phone_number: str, source: str) -> None:
        super().__init__(
            _(
                "%(number)s is on this account's Blacklist (%(source)s): it must never "
                "receive a message from this account."
            )
            % {"number": phone_number, "source": source},
            phone_number=phone_number,
            source=source,
        )
