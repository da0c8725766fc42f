"""What is sent to whom: the STOP mention by destination, cost and the advice."""

from __future__ import annotations

import pytest

from campaigns.text import (
    Encoding,
    StopRules,
    compose,
    compose_for,
    mention_applies,
    mention_for,
    non_gsm_chars,
    replace_non_gsm,
    validate_sender_id,
    with_mention,
)
from campaigns.text.replacements import Fidelity
from campaigns.text.sender import SenderProblemCode

RULES = StopRules(shortcode="36034", unsubscribe_link="ns.fr/k7q", add_mention=True)


def test_french_numbers_get_stop_and_the_shortcode() -> None:
    message = compose_for("Soldes -20% ce week-end", region="FR", rules=RULES, rate=1)

    assert message.text_sent == "Soldes -20% ce week-end STOP 36034"
    assert message.mention == "STOP 36034"
    assert (message.encoding, message.units, message.segments, message.credits) == (
        Encoding.GSM7,
        34,
        1,
        1,
    )


def test_other_countries_get_the_unsubscribe_link() -> None:
    message = compose_for("Sale -20% this weekend", region="GB", rules=RULES, rate=2)

    assert message.text_sent == "Sale -20% this weekend ns.fr/k7q"
    assert message.mention_units == 10  # the space and the 9-character link
    assert message.credits == 2


def test_the_shortcode_is_a_setting() -> None:
    rules = StopRules(shortcode="38120", unsubscribe_link="ab.io/xyz", add_mention=True)

    assert compose_for("Hi", region="FR", rules=rules, rate=1).text_sent == "Hi STOP 38120"


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("Hello", "Hello STOP 36034"),
        ("Hello\n", "Hello\nSTOP 36034"),
        ("Hello\r\n", "Hello\r\nSTOP 36034"),
        ("Hello ", "Hello  STOP 36034"),
    ],
)
def test_one_space_or_nothing_after_a_line_break(text: str, sent: str) -> None:
    assert with_mention(text, "STOP 36034") == sent


def test_no_mention_when_the_rules_allow_none() -> None:
    rules = StopRules(shortcode="36034", unsubscribe_link="ns.fr/k7q", add_mention=False)

    message = compose_for("Your code is 1234", region="FR", rules=rules, rate=1)

    assert (message.text_sent, message.mention, message.units) == ("Your code is 1234", "", 17)


def test_marketing_accounts_always_carry_the_mention() -> None:
    assert mention_applies(marketing=True, requested=False) is True
    assert mention_applies(marketing=False, requested=False) is False
    assert mention_applies(marketing=False, requested=True) is True


def test_the_mention_and_its_separator_count_in_segments_and_credits() -> None:
    text = "a" * 150
    message = compose_for(text, region="FR", rules=RULES, rate=3)

    assert message.measure_without_mention.segments == 1
    assert (message.units, message.segments, message.credits) == (161, 2, 6)
    assert message.mention_adds_segment
    # One character less and the whole message fits in 160.
    assert message.characters_to_remove() == 1
    assert compose_for(text[:-1], region="FR", rules=RULES, rate=3).segments == 1


def test_characters_to_remove_counts_characters_not_units() -> None:
    text = "a" * 148 + "€€"  # 152 units, 162 with the mention
    message = compose_for(text, region="FR", rules=RULES, rate=1)

    assert message.units == 163
    assert message.characters_to_remove() == 2  # two euro signs are 4 units


def test_removing_the_only_non_gsm_character_counts_for_the_advice() -> None:
    text = "a" * 60 + "’"  # UCS-2: 61 + 11 = 72 units, two segments
    message = compose_for(text, region="FR", rules=RULES, rate=1)

    assert (message.encoding, message.segments) == (Encoding.UCS2, 2)
    assert message.characters_to_remove() == 1


def test_non_gsm_characters_are_listed_with_their_replacement() -> None:
    found = {c.char: c for c in non_gsm_chars("L’été, ça «marche» – très bien… œuvre 😀")}

    assert found["’"].replacement == "'" and found["’"].fidelity is Fidelity.SAME
    assert found["«"].replacement == '"' and found["»"].replacement == '"'
    assert found["–"].replacement == "-"
    assert found["…"].replacement == "..."
    assert found["ç"].replacement == "c" and found["ç"].fidelity is Fidelity.ACCENT
    assert found["œ"].replacement == "oe"
    assert found["😀"].replacement is None
    assert "é" not in found and "è" not in found  # in the GSM alphabet


def test_replacing_brings_the_message_back_to_gsm7() -> None:
    text = "Aujourd’hui à 14\u00a0h : –50\u00a0% sur tout le magasin, c’est l’été !" * 2
    before = compose_for(text, region="FR", rules=RULES, rate=1)
    after = before.with_replacements()

    assert before.encoding is Encoding.UCS2 and after.encoding is Encoding.GSM7
    assert (before.units, before.segments) == (133, 2)
    assert (after.units, after.segments) == (133, 1)
    assert after.text == replace_non_gsm(text)
    assert "’" not in after.text_sent and "\u00a0" not in after.text_sent


def test_replacing_only_the_chosen_characters() -> None:
    message = compose("l’été «chaud»", region="FR", mention="", rate=1)

    assert message.with_replacements(frozenset({"’"})).text == "l'été «chaud»"


def test_a_decomposed_accent_is_composed_back() -> None:
    (char,) = non_gsm_chars("e\u0301")

    assert (char.replacement, char.fidelity) == ("é", Fidelity.SAME)


def test_mention_for_any_region_but_france_is_the_link() -> None:
    assert mention_for("FR", shortcode="36034", unsubscribe_link="ns.fr/k7q") == "STOP 36034"
    for region in ("BE", "GB", "US", "GP", "RE"):
        assert mention_for(region, shortcode="36034", unsubscribe_link="ns.fr/k7q") == "ns.fr/k7q"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", SenderProblemCode.EMPTY),
        ("AB", SenderProblemCode.TOO_SHORT),
        ("ABCDEFGHIJKL", SenderProblemCode.TOO_LONG),
        ("Shop 1", SenderProblemCode.INVALID_CHARACTERS),
        ("Café", SenderProblemCode.INVALID_CHARACTERS),
        ("1234567890123456", SenderProblemCode.NUMERIC_TOO_LONG),
    ],
)
def test_invalid_sender_ids_say_why(value: str, code: SenderProblemCode) -> None:
    problem = validate_sender_id(value)

    assert problem is not None and problem.code is code


@pytest.mark.parametrize("value", ["PAUL", "Shop1", "ABCDEFGHIJK", "123", "336123456789012"])
def test_valid_sender_ids(value: str) -> None:
    assert validate_sender_id(value) is None
