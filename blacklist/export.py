"""The Blacklist as CSV, for the customer area's export and the API's: one code path.

Excel in France opens `;`-separated UTF-8 with a byte-order mark; a cell a spreadsheet
would run as a formula (=, +, -, @ at the start) is quoted with an apostrophe.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from blacklist.models import BlacklistEntry, BlacklistSource

E164 = re.compile(r"^\+\d{1,15}$")


def safe_cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (=, +, -, @ at the start)."""
    if value and value[0] in "=+-@\t\r" and not E164.match(value):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_rows(entries: QuerySet[BlacklistEntry]) -> Iterator[str]:
    """The CSV lines, header first, dates in the current (the account's) time zone."""
    writer = csv.writer(_Echo(), delimiter=";")
    # Read now, in the request's language and time zone: the rows stream after the view
    # has returned, when neither is active any more.
    zone = timezone.get_current_timezone()
    sources = {value: str(label) for value, label in BlacklistSource.choices}
    header = writer.writerow([_("Number"), _("Source"), _("Added"), _("Note")])

    def rows() -> Iterator[str]:
        yield "\ufeff" + header
        for entry in entries.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    entry.phone_number,
                    sources.get(entry.source, entry.source),
                    timezone.localtime(entry.created_at, zone).strftime("%Y-%m-%d %H:%M"),
                    safe_cell(entry.note),
                ]
            )

    return rows()


def export_response(entries: QuerySet[BlacklistEntry]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export_rows(entries), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="blacklist-{stamp}.csv"'
    return response
