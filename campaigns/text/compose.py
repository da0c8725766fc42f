"""What one message to one destination sends and costs, and how to make it cheaper."""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.text.mention import mention_for, separator, with_mention
from campaigns.text.replacements import NonGsmChar, non_gsm_chars, replace_non_gsm
from campaigns.text.segments import Encoding, Measure, measure


@dataclass(frozen=True, slots=True)
class StopRules:
    """The platform's and the account's STOP settings that shape every message."""

    shortcode: str
    unsubscribe_link: str
    add_mention: bool


@dataclass(frozen=True, slots=True)
class Composition:
    """Exactly what is sent to one destination, and what it costs."""

    text: str
    region: str
    mention: str
    text_sent: str
    measure: Measure
    measure_without_mention: Measure
    rate: int
    non_gsm: tuple[NonGsmChar, ...]

    @property
    def separator(self) -> str:
        """What stands between the text and the mention in `text_sent`."""
        return separator(self.text) if self.mention else ""

    @property
    def encoding(self) -> Encoding:
        return self.measure.encoding

    @property
    def units(self) -> int:
        return self.measure.units

    @property
    def segments(self) -> int:
        return self.measure.segments

    @property
    def credits(self) -> int:
        return self.segments * self.rate

    @property
    def mention_units(self) -> int:
        """Units the mention and its separator add."""
        return self.measure.units - self.measure_without_mention.units

    @property
    def mention_adds_segment(self) -> bool:
        """True when the text alone fits in fewer segments than with the mention."""
        return bool(self.mention) and self.segments > self.measure_without_mention.segments

    def characters_to_remove(self) -> int:
        """Characters to cut from the end of the text to save one segment (0 if 1 segment).

        Counted on the text the user typed, mention kept: the least number of its last
        characters whose removal brings the message down one segment.
        """
        if self.segments <= 1:
            return 0
        target = self.segments - 1
        text = self.text
        # Walk up one character at a time rather than by arithmetic: cutting the only
        # non-GSM character switches the whole message back to GSM-7.
        for count in range(1, len(text) + 1):
            if measure(with_mention(text[:-count], self.mention)).segments <= target:
                return count
        return 0  # the mention alone needs more than `target` segments

    def with_replacements(self, chars: frozenset[str] | None = None) -> Composition:
        """The same message with the non-GSM characters that have one replaced."""
        return compose(
            replace_non_gsm(self.text, chars),
            region=self.region,
            mention=self.mention,
            rate=self.rate,
        )


def compose(text: str, *, region: str, mention: str, rate: int) -> Composition:
    """The message `text` to a destination of `region` with `mention` ("" for none)."""
    sent = with_mention(text, mention)
    return Composition(
        text=text,
        region=region,
        mention=mention,
        text_sent=sent,
        measure=measure(sent),
        measure_without_mention=measure(text),
        rate=rate,
        non_gsm=non_gsm_chars(sent),
    )


def compose_for(text: str, *, region: str, rules: StopRules, rate: int) -> Composition:
    """`compose` with the mention the rules give for the destination's region."""
    mention = (
        mention_for(region, shortcode=rules.shortcode, unsubscribe_link=rules.unsubscribe_link)
        if rules.add_mention
        else ""
    )
    return compose(text, region=region, mention=mention, rate=rate)
