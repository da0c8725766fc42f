"""Every list is paginated: page numbers for lists people browse, cursors for the
append-only ones (messages, ledger) that grow to millions of rows, where a COUNT(*) per
page and deep OFFSETs would slow every call down."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination

MAX_PAGE_SIZE = 200


class Pages(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-id"
