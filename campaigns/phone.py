"""Phone numbers: read what people type, store E.164 and the region once.

Dispatch and pricing read the stored region; nothing re-parses a stored number.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from django.utils.translation import gettext_lazy as _

# People in France type national numbers ("06 12 34 56 78"): read them as French.
DEFAULT_REGION = "FR"
# French overseas numbers are dialled nationally from France ("0690 00 12 34" is a
# Guadeloupe mobile) but carry their own country codes: try them when FR does not fit.
FRENCH_OVERSEAS_REGIONS = ("GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF")
MAX_INPUT_LENGTH = 40

REASONS = {
    "empty": _("The number is empty."),
    "too_long": _("The number is too long."),
    "unreadable": _("This is not a phone number."),
    "invalid": _("This number does not exist in its country's numbering plan."),
}


@dataclass(frozen=True)
class NormalizedNumber:
    e164: str
    region: str


class InvalidNumber(ValueError):
    def __init__(self, code: str, raw: str) -> None:
        self.code = code
        self.raw = raw
        super().__init__(str(REASONS[code]))

    @property
    def message(self) -> str:
        return str(REASONS[self.code])


def normalize_number(raw: str, *, default_region: str = DEFAULT_REGION) -> NormalizedNumber:
    """Normalise a typed number to E.164 with its region.

    >>> normalize_number("06 12 34 56 78")
    NormalizedNumber(e164='+33612345678', region='FR')
    >>> normalize_number("+44 7400 123456")
    NormalizedNumber(e164='+447400123456', region='GB')
    >>> normalize_number("0690 00 12 34")
    NormalizedNumber(e164='+590690001234', region='GP')
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber("empty", raw)
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidNumber("too_long", raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidNumber("unreadable", raw) from None
    if not phonenumbers.is_valid_number(parsed) and default_region == "FR":
        if not text.startswith("+"):
            for region in FRENCH_OVERSEAS_REGIONS:
                candidate = phonenumbers.parse(text, region)
                if phonenumbers.is_valid_number(candidate):
                    parsed = candidate
                    break
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber("invalid", raw)
    region = phonenumbers.region_code_for_number(parsed) or "ZZ"
    return NormalizedNumber(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        region=region,
    )


def format_for_display(e164: str) -> str:
    """International format for people ("+33 6 12 34 56 78")."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
