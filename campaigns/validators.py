"""Django-side validators around the pure text rules, with translated messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaigns.text.sender import SenderProblemCode, validate_sender_id

SENDER_MESSAGES = {
    SenderProblemCode.EMPTY: _("Enter a sender ID."),
    SenderProblemCode.NUMERIC_TOO_LONG: _(
        "A numeric sender ID has at most 15 digits (this one has %(length)d)."
    ),
    SenderProblemCode.INVALID_CHARACTERS: _(
        "A sender ID has only letters A-Z and digits: no spaces, accents or punctuation."
    ),
    SenderProblemCode.TOO_SHORT: _(
        "An alphanumeric sender ID has 3 to 11 characters (this one has %(length)d)."
    ),
    SenderProblemCode.TOO_LONG: _(
        "An alphanumeric sender ID has 3 to 11 characters (this one has %(length)d)."
    ),
}


def sender_id_validator(value: str) -> None:
    problem = validate_sender_id(value)
    if problem is not None:
        raise ValidationError(
            SENDER_MESSAGES[problem.code],
            code=problem.code.value,
            params={"length": problem.length},
        )
