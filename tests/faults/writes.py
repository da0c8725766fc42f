"""Nothing was written: no writing statement ran, and every table has the rows it had.

Both checks, because each alone can miss something: a statement run by another thread
(the inbound webhook's group-commit thread) escapes the query capture, and a row
inserted then deleted escapes the counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

WRITING = ("INSERT", "UPDATE", "DELETE", "COPY", "TRUNCATE", "ALTER", "CREATE", "DROP")


def row_counts() -> dict[str, int]:
    """Rows per table of every model (sessions aside: a login writes one by design)."""
    return {
        model._meta.db_table: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and model._meta.db_table != "django_session"
    }


@contextmanager
def no_database_write() -> Iterator[None]:
    before = row_counts()
    with CaptureQueriesContext(connection) as queries:
        yield
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith(WRITING)
    ]
    assert writes == [], writes
    assert row_counts() == before
