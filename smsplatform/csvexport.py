"""The CSV files the platform hands out (the Blacklist, an import's rejected rows): one
writer, so that no export forgets the rule below.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a
formula by Excel and LibreOffice ("CSV injection": `=cmd|' /C calc'!A0`, `=HYPERLINK(…)`);
such a cell is written with an apostrophe in front, which spreadsheets show as text.
A phone number in E.164 (`+33612345678`) is left alone: it is data, never a formula.
Excel in France opens `;`-separated UTF-8 when the file starts with a byte-order mark.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
E164 = re.compile(r"^\+\d{1,15}$")


def safe_cell(value: object) -> str:
    """The cell as a spreadsheet will show it, never run it.

    >>> safe_cell("=cmd|' /C calc'!A0"), safe_cell("+33612345678"), safe_cell(42)
    ("'=cmd|' /C calc'!A0", '+33612345678', '42')
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not E164.match(text):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[object], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The file's text, line by line (a byte-order mark, the header, the rows), every
    cell through safe_cell: for a StreamingHttpResponse."""
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff" + writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])
