"""Property tests: no input breaks the engine, and its counts agree with a split by the rules."""

from __future__ import annotations

import math

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.text import Encoding, measure, non_gsm_chars, replace_non_gsm
from campaigns.text.segments import MULTI_GSM_UNITS, MULTI_UCS2_UNITS

# The GSM 03.38 default alphabet by position (0x1B, the escape, as a placeholder), and
# the extension table: written here independently of the engine's own tables.
GSM_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C,
                 "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}  # fmt: skip
ESCAPE = 0x1B


def gsm_encode(text: str) -> list[int] | None:
    """Septets of `text` in GSM-7, or None when a character has no GSM code."""
    septets: list[int] = []
    for char in text:
        if char in GSM_EXTENSION:
            septets += [ESCAPE, GSM_EXTENSION[char]]
        elif char != "\x1b" and char in GSM_TABLE:
            septets.append(GSM_TABLE.index(char))
        else:
            return None
    return septets


def gsm_decode(septets: list[int]) -> str:
    reverse = {code: char for char, code in GSM_EXTENSION.items()}
    out, escaped = [], False
    for septet in septets:
        if escaped:
            out.append(reverse[septet])
            escaped = False
        elif septet == ESCAPE:
            escaped = True
        else:
            out.append(GSM_TABLE[septet])
    return "".join(out)


def split_by_the_rules(text: str, encoding: Encoding) -> list[str]:
    """Cut `text` into the segments a sender would send, never cutting a character."""
    if encoding is Encoding.GSM7:
        pieces, size, limit, single = list(text), (lambda p: len(gsm_encode(p))), 153, 160
    else:
        pieces = regex.findall(r"\X", text)
        # CR LF is two characters to the network.
        pieces = [p for piece in pieces for p in (list(piece) if piece == "\r\n" else [piece])]
        size = lambda p: len(p.encode("utf-16-le", "surrogatepass")) // 2  # noqa: E731
        limit, single = 67, 70
        pieces = [q for p in pieces for q in (list(p) if size(p) > limit else [p])]
    if not text:
        return []
    if sum(size(p) for p in pieces) <= single:
        return [text]
    segments, current, used = [], "", 0
    for piece in pieces:
        if used + size(piece) > limit:
            segments.append(current)
            current, used = "", 0
        current += piece
        used += size(piece)
    segments.append(current)
    return segments


french = st.text(
    alphabet=st.sampled_from(list("aeiouéèàùçêâîôœ’«»…–\u00a0 €[]{}😀🇫🇷\n.,!?STOP0123"))
)
anything = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=400)


@settings(max_examples=400)
@given(st.one_of(anything, french, st.text(alphabet=st.sampled_from(GSM_TABLE + "€[]{}^~\\|\f"))))
def test_segments_agree_with_a_split_by_the_rules(text: str) -> None:
    result = measure(text)
    segments = split_by_the_rules(text, result.encoding)

    assert "".join(segments) == text
    assert result.segments == len(segments)
    limit = MULTI_GSM_UNITS if result.encoding is Encoding.GSM7 else MULTI_UCS2_UNITS
    if result.segments > 1:
        assert all(units <= limit for units in result.segment_units)
        # Never fewer segments than the units need, and at most one more per two-unit
        # character that had to move.
        assert result.segments >= math.ceil(result.units / limit)
    assert sum(result.segment_units) == result.units


@settings(max_examples=400)
@given(st.one_of(anything, french))
def test_gsm7_only_for_texts_that_round_trip_through_the_gsm_alphabet(text: str) -> None:
    result = measure(text)
    septets = gsm_encode(text)

    if result.encoding is Encoding.GSM7:
        assert septets is not None and gsm_decode(septets) == text
        assert result.units == len(septets)
        assert non_gsm_chars(text) == ()
    else:
        assert septets is None
        assert result.units == len(text.encode("utf-16-le", "surrogatepass")) // 2
        assert non_gsm_chars(text)


@settings(max_examples=300)
@given(french)
def test_replacements_leave_only_characters_without_one(text: str) -> None:
    replaced = replace_non_gsm(text)
    left = non_gsm_chars(replaced)

    assert all(c.replacement is None for c in left)
    if not left:
        assert measure(replaced).encoding is Encoding.GSM7
