"""The Blacklist as CSV, for the customer area's export and the API's: one code path.

Excel in France opens `;`-separated UTF-8 with a byte-order mark; a cell a spreadsheet
would run as a formula is neutralised (smsplatform/csvexport.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from blacklist.models import BlacklistEntry, BlacklistSource
from smsplatform.csvexport import csv_lines


def export_rows(entries: QuerySet[BlacklistEntry]) -> Iterator[str]:
    """The CSV lines, header first, dates in the current (the account's) time zone."""
    # Read now, in the request's language and time zone: the rows stream after the view
    # has returned, when neither is active any more.
    zone = timezone.get_current_timezone()
    sources = {value: str(label) for value, label in BlacklistSource.choices}
    header = [_("Number"), _("Source"), _("Added"), _("Note")]

    def rows() -> Iterator[list[str]]:
        for entry in entries.iterator(chunk_size=2000):
            yield [
                entry.phone_number,
                sources.get(entry.source, entry.source),
                timezone.localtime(entry.created_at, zone).strftime("%Y-%m-%d %H:%M"),
                entry.note,
            ]

    return csv_lines(header, rows())


def export_response(entries: QuerySet[BlacklistEntry]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export_rows(entries), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="blacklist-{stamp}.csv"'
    return response
