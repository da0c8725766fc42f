"""Every list is paginated: page numbers for lists people browse, cursors for the
append-only ones (messages, ledger) that grow to millions of rows, where a COUNT(*) per
page and deep OFFSETs would slow every call down.

`page_size` is checked rather than silently replaced by the default (DRF's habit): a
client asking for 0 or 10,000 rows has a bug it should hear about."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 200


def once(request: Request, *names: str | None) -> None:
    """Refuse a paging parameter given twice (Django would read the last one)."""
    for name in names:
        if name and len(request.query_params.getlist(name)) > 1:
            raise ValidationError({name: [_("Give this parameter once.")]})


class _CheckedPageSize:
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        once(
            request,
            getattr(self, "page_query_param", None),
            getattr(self, "cursor_query_param", None),
        )
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        once(request, self.page_size_query_param)
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("A whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(raw)

    def _page_size_schema(self, parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters


class Pages(_CheckedPageSize, PageNumberPagination):
    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = self._page_size_schema(super().get_schema_operation_parameters(view))
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


class Cursor(_CheckedPageSize, CursorPagination):
    ordering = "-id"

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return self._page_size_schema(super().get_schema_operation_parameters(view))
