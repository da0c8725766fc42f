"""Characters that force UCS-2, and their GSM replacements.

One typographic apostrophe is enough to switch a whole message to UCS-2 and cut its
capacity from 160 to 70 units. Word processors and phones insert such characters
silently (’ “ ” « » – — … non-breaking spaces), and French has letters outside the GSM
alphabet (ç ê â î ô û ë ï œ). Each gets a replacement when a GSM one exists:

- "same": the replacement reads the same (punctuation, spaces, a decomposed accent);
- "accent": the replacement drops an accent or ligature (ê → e, œ → oe);
- no replacement for the rest (emoji, other scripts): they stay, in UCS-2.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

import regex

from campaigns.text import gsm

_GRAPHEME = regex.compile(r"\X")


class Fidelity(enum.StrEnum):
    SAME = "same"
    ACCENT = "accent"


_SAME: dict[str, str] = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u00a0\u202f\u2000\u2001\u2002\u2003\u2004\u2005\u2006", " "),
    **dict.fromkeys("\u2007\u2008\u2009\u200a", " "),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
    "\u2026": "...",
    "\u2039": "<",
    "\u203a": ">",
    "\u2022": "-",
    "\u00b7": ".",
    "\u2028": "\n",
    "\u2029": "\n",
    "\t": " ",
}

_ACCENT: dict[str, str] = {
    "œ": "oe",
    "Œ": "OE",
    "ĳ": "ij",
    "Ĳ": "IJ",
}


@dataclass(frozen=True, slots=True)
class NonGsmChar:
    """A character (one grapheme) of the text that forces UCS-2."""

    char: str
    count: int
    replacement: str | None
    fidelity: Fidelity | None

    @property
    def codepoints(self) -> str:
        return " ".join(f"U+{ord(c):04X}" for c in self.char)

    @property
    def name(self) -> str:
        return " + ".join(unicodedata.name(c, f"U+{ord(c):04X}") for c in self.char)


def _replacement(cluster: str) -> tuple[str | None, Fidelity | None]:
    if cluster in _SAME:
        return _SAME[cluster], Fidelity.SAME
    if cluster in _ACCENT:
        return _ACCENT[cluster], Fidelity.ACCENT
    composed = unicodedata.normalize("NFC", cluster)
    if gsm.is_gsm(composed):
        # A letter typed as base + combining accent, e.g. "e" + U+0301 for "é".
        return composed, Fidelity.SAME
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", cluster) if not unicodedata.combining(c)
    )
    if stripped and stripped.isalpha() and gsm.is_gsm(stripped):
        return stripped, Fidelity.ACCENT
    return None, None


def non_gsm_chars(text: str) -> tuple[NonGsmChar, ...]:
    """The characters of `text` outside the GSM alphabet, in order of first appearance."""
    if gsm.is_gsm(text):
        return ()
    counts: dict[str, int] = {}
    for cluster in _GRAPHEME.findall(text):
        if cluster == "\r\n" or gsm.is_gsm(cluster):
            continue
        counts[cluster] = counts.get(cluster, 0) + 1
    found = []
    for cluster, count in counts.items():
        replacement, fidelity = _replacement(cluster)
        found.append(NonGsmChar(cluster, count, replacement, fidelity))
    return tuple(found)


def replace_non_gsm(text: str, chars: frozenset[str] | set[str] | None = None) -> str:
    """`text` with the non-GSM characters that have a replacement replaced.

    `chars` limits the replacement to those characters (graphemes); None replaces all.
    Characters without a replacement are kept as they are.
    """
    if gsm.is_gsm(text):
        return text
    out = []
    for cluster in _GRAPHEME.findall(text):
        if cluster == "\r\n" or gsm.is_gsm(cluster) or (chars is not None and cluster not in chars):
            out.append(cluster)
            continue
        replacement, _ = _replacement(cluster)
        out.append(cluster if replacement is None else replacement)
    return "".join(out)
