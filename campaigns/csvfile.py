"""Reading contact files as French users produce them, one row at a time.

Excel in France saves CSV as Windows-1252 with `;`; other tools save UTF-8 (with or
without a byte-order mark) with `,`. The first line may be a header or already data.
Nothing here holds a whole file in memory: the sniffing reads the first 64 KiB and the
rows are streamed.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from django.utils.translation import gettext as _

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (";", ",", "\t", "|")
MAX_FIELD_LENGTH = 255

# Target fields a column can map to; anything else becomes a custom field.
PHONE, FIRST_NAME, LAST_NAME, CONSENT_AT, IGNORE = (
    "phone_number",
    "first_name",
    "last_name",
    "consent_at",
    "",
)
CUSTOM_PREFIX = "field:"

_HEADER_GUESSES = {
    PHONE: ("tel", "tél", "telephone", "téléphone", "mobile", "portable", "phone", "gsm",
            "numero", "numéro", "number", "msisdn", "cell"),
    FIRST_NAME: ("prenom", "prénom", "first", "firstname", "first_name", "given"),
    LAST_NAME: ("nom", "last", "lastname", "last_name", "surname", "family", "name"),
    CONSENT_AT: ("consent", "consentement", "optin", "opt-in", "opt_in"),
}  # fmt: skip


class NotText(ValueError):
    """The file is not a text file (an image, a spreadsheet saved as .xlsx, a PDF…)."""


class Unreadable(ValueError):
    """A line the CSV reader cannot read (`line`: its number)."""

    def __init__(self, line: int, error: str) -> None:
        super().__init__(f"line {line}: {error}")
        self.line = line
        self.error = error


# A text file holds no NUL and few control characters: tab, line breaks, and the odd
# stray one; a binary file decoded as cp1252 holds many.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_CONTROL_SHARE = 0.01


def check_text(text: str) -> None:
    """Raise NotText when `text` (a decoded sample) cannot be a CSV file."""
    if "\x00" in text or len(_CONTROL.findall(text)) > max(2, len(text) * MAX_CONTROL_SHARE):
        raise NotText("binary content")


@dataclass(frozen=True)
class Sniffed:
    encoding: str
    delimiter: str
    has_header: bool
    columns: list[str]
    sample: list[list[str]]


def _utf16(sample: bytes) -> str | None:
    """UTF-16 ("Unicode text" in Excel's save dialog): its byte-order mark, or without
    one, a zero byte in every other position of Latin text."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = len(sample) // 2
    if pairs < 4:
        return None
    odd_zeros = sample[1 : pairs * 2 : 2].count(0)
    even_zeros = sample[0 : pairs * 2 : 2].count(0)
    if odd_zeros > pairs * 0.4 and even_zeros < pairs * 0.05:
        return "utf-16-le"
    if even_zeros > pairs * 0.4 and odd_zeros < pairs * 0.05:
        return "utf-16-be"
    return None


def detect_encoding(sample: bytes) -> str:
    """utf-16 when it is, utf-8-sig for UTF-8 (with or without BOM), else cp1252 (what
    Excel writes in France)."""
    utf16 = _utf16(sample)
    if utf16:
        return utf16
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # A sample may end in the middle of a character: that is not an error.
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def detect_delimiter(lines: list[str]) -> str:
    """The separator that splits the first lines into the same, largest number of columns."""
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            continue
        steady = sum(1 for n in counts if n == counts[0])
        score = (steady if counts[0] > 1 else 0, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def looks_like_phone(value: str) -> bool:
    digits = re.sub(r"[\s.\-()/]", "", value)
    if not re.fullmatch(r"\+?\d{6,16}", digits):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(value, "FR"))
    except phonenumbers.NumberParseException:
        return False


def detect_header(rows: list[list[str]]) -> bool:
    """A header has no phone number in it while the line after does."""
    if len(rows) < 2:
        return bool(rows) and not any(looks_like_phone(cell) for cell in rows[0])
    first, second = rows[0], rows[1]
    return not any(looks_like_phone(c) for c in first) and any(looks_like_phone(c) for c in second)


def sniff(path: Path) -> Sniffed:
    with path.open("rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
    encoding = detect_encoding(raw)
    text = raw.decode(encoding, errors="replace")
    check_text(text)
    lines = text.splitlines()
    if len(raw) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    lines = [line for line in lines[:50] if line.strip()]
    delimiter = detect_delimiter(lines[:20])
    rows = list(csv.reader(lines, delimiter=delimiter))
    has_header = detect_header(rows)
    width = max((len(r) for r in rows), default=0)
    if has_header and rows:
        columns = [
            (rows[0][i].strip() if i < len(rows[0]) else "") or f"Column {i + 1}"
            for i in range(width)
        ]
        sample = rows[1:6]
    else:
        columns = [f"Column {i + 1}" for i in range(width)]
        sample = rows[:5]
    return Sniffed(encoding, delimiter, has_header, columns, sample)


def _normal(name: str) -> str:
    return re.sub(r"[^a-zà-ÿ_-]", "", name.strip().lower())


def guess_mapping(
    columns: list[str], sample: list[list[str]], *, has_header: bool = True
) -> dict[str, str]:
    """A first mapping from header names, or the column holding phone numbers.

    Other named columns become custom fields, so nothing in the file is lost unless the
    user chooses to ignore it.
    """
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, column in enumerate(columns):
        name = _normal(column)
        for field, words in _HEADER_GUESSES.items():
            if field not in taken and any(name == w or name.startswith(w) for w in words):
                mapping[str(index)] = field
                taken.add(field)
                break
    if PHONE not in taken:
        for index in range(len(columns)):
            cells = [row[index] for row in sample if index < len(row) and row[index].strip()]
            if cells and all(looks_like_phone(cell) for cell in cells):
                mapping[str(index)] = PHONE
                break
    if has_header:
        for index, column in enumerate(columns):
            mapping.setdefault(str(index), CUSTOM_PREFIX + column)
    return mapping


def iter_rows(
    path: Path, *, encoding: str, delimiter: str, skip_header: bool
) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for every non-empty row, streamed from disk.

    A NUL past the sniffed sample is replaced (PostgreSQL cannot store it); a line the
    CSV reader cannot read (a cell over csv.field_size_limit(), 128 KiB) raises
    Unreadable with its number, and so does a quote left open over lines that look like
    contacts (the reader would take them as one cell and they would be lost)."""
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        ended = 0  # the last physical line of the previous row
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise Unreadable(reader.line_num, str(error)) from None
            first, ended = ended + 1, reader.line_num
            if ended > first and _swallows_records(row, delimiter):
                raise Unreadable(
                    first,
                    _(
                        "a quote opened on this line is closed only on line %(end)d, or "
                        "never: the contacts in between would be read as one cell. Check "
                        "the quotes of line %(line)d"
                    )
                    % {"end": ended, "line": first},
                )
            if skip_header and reader.line_num == 1:
                continue
            if not any(cell.strip() for cell in row):
                continue
            if any("\x00" in cell for cell in row):
                row = [cell.replace("\x00", "\ufffd") for cell in row]
            yield reader.line_num, row


def _swallows_records(row: list[str], delimiter: str) -> bool:
    """A cell spread over several lines, one of which holds a phone number between
    delimiters: records swallowed by an open quote, not a note written on two lines."""
    for cell in row:
        for line in cell.splitlines()[1:]:
            if delimiter in line and any(looks_like_phone(part) for part in line.split(delimiter)):
                return True
    return False


def count_rows(path: Path, *, encoding: str, delimiter: str, skip_header: bool) -> int:
    return sum(1 for _ in iter_rows(path, encoding=encoding, delimiter=delimiter,
                                    skip_header=skip_header))  # fmt: skip
