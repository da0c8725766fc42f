"""Item 16 (issue 7): no text breaks the pure text rules or the keyword rule.

Any Unicode (lone surrogates, every category, combining marks, emoji sequences,
controls), and texts of 10 KB and more: every function of `campaigns/text/` and
`blacklist/keywords.py` answers with its own result types or its own refusal, never an
unexpected exception, and the figures it gives stay coherent (units and segments grow
with the text, a mention is counted, credits are segments × rate).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blacklist.keywords import Intent, read_reply
from campaigns.forms import MAX_TEXT_LENGTH
from campaigns.phone import InvalidNumber, normalize_number
from campaigns.text import (
    Encoding,
    StopRules,
    compose_for,
    measure,
    mention_for,
    non_gsm_chars,
    replace_non_gsm,
    validate_sender_id,
    with_mention,
)
from campaigns.text.personalize import fields_in, parse, render, unknown_fields

# Every code point, surrogates included (hypothesis leaves them out by default).
any_character = st.characters(codec=None, exclude_categories=())
anything = st.text(alphabet=any_character, max_size=200)
surrogates = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
tricky = st.lists(
    st.sampled_from(
        ["\ud800", "\udfff", "\ud83d", "\ude00", "😀", "🇫🇷", "\u200d", "\u0301", "e\u0301",
         "\U0001f469\u200d\U0001f469\u200d\U0001f467", "\r\n", "\r", "\n", "\f", "\x1b",
         "\x00", "€", "{", "}", "{first_name}", "{{", "}}", "STOP", "stop", "ＳＴＯＰ",
         "S.T.O.P", "36034", "\u202e", "\ufeff", "\U000e0001", " "]
    ),
    max_size=60,
).map("".join)  # fmt: skip


def ten_kb(piece: str) -> str:
    """`piece` repeated to at least 10 KB (10,240 characters)."""
    piece = piece or "x"
    return piece * (10_240 // len(piece) + 1)


texts = st.one_of(anything, surrogates, tricky, st.one_of(anything, tricky).map(ten_kb))
RULES = StopRules(shortcode="36034", unsubscribe_link="ns.fr/k3x", add_mention=True)
regions = st.sampled_from(["FR", "GB", "GP", "US", "ZZ", "", "??", "fr"])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(texts, regions, st.booleans(), st.integers(min_value=1, max_value=5))
def test_composing_any_text_for_any_destination_never_fails(
    text: str, region: str, add_mention: bool, rate: int
) -> None:
    rules = StopRules(shortcode="36034", unsubscribe_link="ns.fr/k3x", add_mention=add_mention)

    composition = compose_for(text, region=region, rules=rules, rate=rate)

    assert composition.encoding in set(Encoding)
    assert composition.credits == composition.segments * rate
    assert composition.text_sent.startswith(text)
    assert composition.units >= composition.measure_without_mention.units
    assert (composition.segments == 0) == (composition.text_sent == "")
    if add_mention:
        assert composition.text_sent.endswith(composition.mention) and composition.mention
    if len(text) <= MAX_TEXT_LENGTH:  # the advice of the compose page, whose texts stop there
        assert composition.characters_to_remove() >= 0


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(texts)
def test_measuring_and_replacing_any_text_never_fails(text: str) -> None:
    measured = measure(text)
    replaced = replace_non_gsm(text)

    assert measured.units >= 0 and measured.segments >= 0
    assert all(item.count >= 1 for item in non_gsm_chars(text))
    assert measure(replaced).segments >= 0
    # Replacing never turns a GSM-7 text into a UCS-2 one.
    if measured.encoding is Encoding.GSM7:
        assert measure(replaced).encoding is Encoding.GSM7


@settings(max_examples=200, deadline=None)
@given(texts, st.dictionaries(st.text(max_size=10), anything, max_size=4))
def test_fields_of_any_text_are_read_and_rendered_without_error(
    text: str, values: dict[str, str]
) -> None:
    template = parse(text)

    assert isinstance(template.render(values), str)
    assert isinstance(render(text, values), str)
    assert set(fields_in(text)) == set(template.fields)
    assert set(unknown_fields(text, set(values))) <= set(template.fields)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_mentions_sender_ids_and_numbers_refuse_rather_than_fail(text: str) -> None:
    assert with_mention(text, mention_for("FR", shortcode="36034", unsubscribe_link="x/y"))
    problem = validate_sender_id(text)
    assert problem is None or problem.code
    try:
        number = normalize_number(text)
    except InvalidNumber as refusal:
        assert refusal.code in {"empty", "too_long", "unreadable", "invalid"}
    else:
        assert number.e164.startswith("+") and number.e164[1:].isdigit()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(texts)
def test_the_keyword_rule_reads_any_text(text: str) -> None:
    reading = read_reply(text)

    assert reading.intent in set(Intent)


@settings(max_examples=100, deadline=None)
@given(st.one_of(anything, tricky).map(ten_kb), st.one_of(anything, tricky))
def test_a_stop_on_its_own_is_found_at_the_end_of_10_kb(noise: str, after: str) -> None:
    """A STOP word on its own, after 10 KB of anything, is still read as a STOP."""
    assert read_reply(f"{noise} STOP").intent is Intent.STOP
