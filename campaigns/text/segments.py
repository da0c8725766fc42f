"""Encoding, units and segments of a text, as an SMS network counts them.

The rules follow GSM 03.38 / 3GPP TS 23.040 and agree with Twilio's open-source
message segment calculator, the reference the industry's calculators match:

- GSM-7 when every character is in the basic table or the extension table, else UCS-2;
- units are septets in GSM-7 (extension characters take 2) and UTF-16 code units in
  UCS-2 (a character outside the Basic Multilingual Plane, such as most emoji, takes 2);
- one segment holds 160 septets or 70 UCS-2 units; a longer message is cut into
  segments of 153 / 67 units (the rest of each 140 octets carries the concatenation
  header);
- nothing a phone shows as one character is cut in two: an extension character's
  escape and septet, a surrogate pair and a whole grapheme cluster (an emoji with its
  skin tone, a flag, a letter with combining accents) stay in one segment, moving to
  the next one when they do not fit, which can add a segment. A cluster longer than a
  whole segment (only contrived text does that) is cut between code points instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import regex

from campaigns.text import gsm

SINGLE_GSM_UNITS = 160
MULTI_GSM_UNITS = 153
SINGLE_UCS2_UNITS = 70
MULTI_UCS2_UNITS = 67

_GRAPHEME = regex.compile(r"\X")


class Encoding(enum.StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class Measure:
    """What a text takes on the network."""

    encoding: Encoding
    units: int
    segments: int
    # Units per segment, in order: shows where each segment ends.
    segment_units: tuple[int, ...]

    @property
    def single_limit(self) -> int:
        return SINGLE_GSM_UNITS if self.encoding is Encoding.GSM7 else SINGLE_UCS2_UNITS

    @property
    def segment_limit(self) -> int:
        """Units one segment holds at the current segment count."""
        if self.segments <= 1:
            return self.single_limit
        return MULTI_GSM_UNITS if self.encoding is Encoding.GSM7 else MULTI_UCS2_UNITS

    @property
    def units_left(self) -> int:
        """Units that still fit before one more segment is needed."""
        if self.segments <= 1:
            return self.single_limit - self.units
        return self.segment_limit - self.segment_units[-1]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _atoms(text: str, encoding: Encoding) -> list[int]:
    """Sizes, in units, of the pieces that must not be cut, in order."""
    if encoding is Encoding.GSM7:
        # GSM text has no combining marks or surrogates: each character is a piece.
        return [gsm.septets(char) for char in text]
    sizes: list[int] = []
    for cluster in _GRAPHEME.findall(text):
        if cluster == "\r\n":
            # CR LF is one grapheme but two characters to the network, as for Twilio.
            sizes += [1, 1]
            continue
        size = utf16_units(cluster)
        if size > MULTI_UCS2_UNITS:
            sizes += [utf16_units(char) for char in cluster]
        else:
            sizes.append(size)
    return sizes


def _pack(sizes: list[int], capacity: int) -> tuple[int, ...]:
    """Greedy packing in order: a piece that does not fit opens the next segment."""
    segments: list[int] = []
    current = 0
    for size in sizes:
        if current + size > capacity:
            segments.append(current)
            current = 0
        current += size
    segments.append(current)
    return tuple(segments)


def measure(text: str) -> Measure:
    """Encoding, units and segments of `text` as it will be sent."""
    encoding = Encoding.GSM7 if gsm.is_gsm(text) else Encoding.UCS2
    if not text:
        return Measure(encoding=encoding, units=0, segments=0, segment_units=())
    if encoding is Encoding.GSM7:
        units = len(text) + sum(1 for char in text if char in gsm.EXTENSION)
        single, multi = SINGLE_GSM_UNITS, MULTI_GSM_UNITS
    else:
        units = utf16_units(text)
        single, multi = SINGLE_UCS2_UNITS, MULTI_UCS2_UNITS
    if units <= single:
        return Measure(encoding=encoding, units=units, segments=1, segment_units=(units,))
    if units == len(text) and encoding is Encoding.GSM7:
        # No two-unit character: nothing can move, the segments are plain arithmetic.
        full, rest = divmod(units, multi)
        packed = (multi,) * full + ((rest,) if rest else ())
        return Measure(encoding=encoding, units=units, segments=len(packed), segment_units=packed)
    packed = _pack(_atoms(text, encoding), multi)
    return Measure(encoding=encoding, units=units, segments=len(packed), segment_units=packed)
