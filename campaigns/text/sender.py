"""Sender IDs (the "from" a recipient sees): alphanumeric or numeric."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

ALPHANUMERIC_MIN = 3
ALPHANUMERIC_MAX = 11
NUMERIC_MAX = 15

_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")
_NUMERIC = re.compile(r"[0-9]+")


class SenderProblemCode(enum.StrEnum):
    EMPTY = "empty"
    NUMERIC_TOO_LONG = "numeric_too_long"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID_CHARACTERS = "invalid_characters"


@dataclass(frozen=True, slots=True)
class SenderProblem:
    code: SenderProblemCode
    message: str
    length: int


def validate_sender_id(value: str) -> SenderProblem | None:
    """None when `value` is a valid sender ID, else what is wrong with it.

    Valid: 3 to 11 ASCII letters and digits with at least one letter, or a number of
    up to 15 digits. Networks reject other characters (spaces, accents, punctuation).
    """
    length = len(value)
    if not value:
        return SenderProblem(SenderProblemCode.EMPTY, "Enter a sender ID.", length)
    if _NUMERIC.fullmatch(value):
        if length > NUMERIC_MAX:
            return SenderProblem(
                SenderProblemCode.NUMERIC_TOO_LONG,
                f"A numeric sender ID has at most {NUMERIC_MAX} digits.",
                length,
            )
        return None
    if not _ALPHANUMERIC.fullmatch(value):
        return SenderProblem(
            SenderProblemCode.INVALID_CHARACTERS,
            "A sender ID has only letters A-Z and digits: no spaces, accents or punctuation.",
            length,
        )
    if length < ALPHANUMERIC_MIN:
        return SenderProblem(
            SenderProblemCode.TOO_SHORT,
            f"An alphanumeric sender ID has at least {ALPHANUMERIC_MIN} characters.",
            length,
        )
    if length > ALPHANUMERIC_MAX:
        return SenderProblem(
            SenderProblemCode.TOO_LONG,
            f"An alphanumeric sender ID has at most {ALPHANUMERIC_MAX} characters.",
            length,
        )
    return None
