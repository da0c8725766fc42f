"""Encoding, units and segments, case by case against the reference calculator.

The expected figures are those of Twilio's open-source message segment calculator
(encoding, segment count and, where it matters, the units in each segment).
"""

from __future__ import annotations

import pytest

from campaigns.text import Encoding, measure

GSM, UCS2 = Encoding.GSM7, Encoding.UCS2
E = "ê"  # a French letter outside GSM: one UCS-2 unit
SMILE = "😀"  # outside the BMP: a surrogate pair, two UCS-2 units
FLAG = "🇫🇷"  # one grapheme of two regional indicators: four UCS-2 units

CASES = [
    # (label, text, encoding, units, segments)
    ("empty", "", GSM, 0, 0),
    ("gsm 1", "a", GSM, 1, 1),
    ("gsm 160", "a" * 160, GSM, 160, 1),
    ("gsm 161", "a" * 161, GSM, 161, 2),
    ("gsm 306", "a" * 306, GSM, 306, 2),
    ("gsm 307", "a" * 307, GSM, 307, 3),
    ("gsm 459", "a" * 459, GSM, 459, 3),
    ("gsm 460", "a" * 460, GSM, 460, 4),
    ("euro counts 2", "€", GSM, 2, 1),
    ("80 euros fill one SMS", "€" * 80, GSM, 160, 1),
    ("81 euros", "€" * 81, GSM, 162, 2),
    ("extension char ends at 160", "a" * 158 + "{", GSM, 160, 1),
    ("extension char crosses 160", "a" * 159 + "{", GSM, 161, 2),
    ("all extension chars", "^{}\\[~]|€\f", GSM, 20, 1),
    ("extension char moved adds a segment", "a" * 152 + "€" + "a" * 152, GSM, 306, 3),
    ("extension char at 153 fits", "a" * 151 + "€" + "a" * 153, GSM, 306, 2),
    ("French letters in GSM", "a" * 151 + "éèùàìòÇÉ" + "a", GSM, 160, 1),
    ("CR LF are two GSM characters", "a\r\nb", GSM, 4, 1),
    ("ucs2 70", E * 70, UCS2, 70, 1),
    ("ucs2 71", E * 71, UCS2, 71, 2),
    ("ucs2 134", E * 134, UCS2, 134, 2),
    ("ucs2 135", E * 135, UCS2, 135, 3),
    ("ucs2 201", E * 201, UCS2, 201, 3),
    ("ucs2 202", E * 202, UCS2, 202, 4),
    ("lower-case c cedilla is not GSM", "ça", UCS2, 2, 1),
    ("typographic apostrophe", "l’été", UCS2, 5, 1),
    ("backtick is not GSM", "`", UCS2, 1, 1),
    ("euro counts 1 in UCS-2", "€ê", UCS2, 2, 1),
    ("emoji counts 2", SMILE, UCS2, 2, 1),
    ("35 emoji fill one SMS", SMILE * 35, UCS2, 70, 1),
    ("36 emoji", SMILE * 36, UCS2, 72, 2),
    ("emoji ends at 70", E * 68 + SMILE, UCS2, 70, 1),
    ("emoji crosses 70", E * 69 + SMILE, UCS2, 71, 2),
    ("emoji moved adds a segment", E * 66 + SMILE + E * 66, UCS2, 134, 3),
    ("emoji at 67 fits", E * 65 + SMILE + E * 67, UCS2, 134, 2),
    ("flag is one grapheme", E * 65 + FLAG + E * 65, UCS2, 134, 3),
    ("combining accent", "e\u0301", UCS2, 2, 1),
]


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_matches_the_reference_calculator(
    text: str, encoding: Encoding, units: int, segments: int
) -> None:
    result = measure(text)

    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)


@pytest.mark.parametrize(
    ("text", "segment_units"),
    [
        ("a" * 161, (153, 8)),
        ("a" * 152 + "€" + "a" * 7, (152, 9)),
        ("a" * 152 + "€" + "a" * 152, (152, 153, 1)),
        (E * 71, (67, 4)),
        (E * 66 + SMILE * 3, (66, 6)),
        (E * 65 + FLAG + E * 65, (65, 67, 2)),
    ],
)
def test_two_unit_characters_never_straddle(text: str, segment_units: tuple[int, ...]) -> None:
    assert measure(text).segment_units == segment_units


def test_units_left_before_the_next_segment() -> None:
    assert measure("a" * 150).units_left == 10
    assert measure("a" * 160).units_left == 0
    assert measure("a" * 161).units_left == 145
    assert measure(E * 60).units_left == 10
