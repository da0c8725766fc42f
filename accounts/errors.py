from __future__ import annotations

from django.utils.translation import gettext as _

from smsplatform.errors import DomainError


class InsufficientCredits(DomainError):
    """Raised when a debit would take the balance below zero.

    >>> InsufficientCredits(needed=120, available=80).message
    'Not enough credits: 120 needed, 80 available.'
    """

    code = "insufficient_credits"
    http_status = 402

    def __init__(self, *, needed: int, available: int) -> None:
        super().__init__(
            _("Not enough credits: %(needed)s needed, %(available)s available.")
            % {"needed": needed, "available": available},
            needed=needed,
            available=available,
        )
        self.needed = needed
        self.available = available


class ReferenceConflict(DomainError):
    """A ledger reference was reused for a different operation."""

    code = "ledger_reference_conflict"
    http_status = 409


class StopMentionRequired(DomainError):
    """A Marketing account tried to send or configure without the STOP mention."""

    code = "stop_mention_required"
    http_status = 422

    def __init__(self) -> None:
        super().__init__(
            _(
                "Marketing accounts always carry the STOP SMS mention (French law: every "
                "commercial SMS must offer a free way to opt out). Only support staff can "
                "switch an account to Notification."
            )
        )
