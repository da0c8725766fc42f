"""Small pieces of SQL that PostgreSQL and SQLite both run, for the set-based services.

The ORM writes a per-row UPDATE as CASE WHEN id = … THEN … for every row, which costs
more Python to build than the statement costs to run; these take plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection


def set_by_id(table: str, column: str, values: dict[int, Any], *, add: bool = False) -> None:
    """UPDATE `table` SET `column` = the value of each row's id (`add`: column + value),
    in one statement.

    >>> set_by_id("accounts_account", "credit_balance", {7: -1, 9: 4}, add=True)  # doctest: +SKIP
    """
    if not values:
        return
    rows = ", ".join(["(%s, %s)"] * len(values))
    new = f"(SELECT value FROM v WHERE v.id = {table}.id)"  # noqa: S608 (our own names)
    if add:
        new = f"{column} + {new}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(id, value) AS (VALUES {rows}) "  # noqa: S608 (our own names)
            f"UPDATE {table} SET {column} = {new} WHERE id IN (SELECT id FROM v)",
            [item for pair in values.items() for item in pair],
        )


def pairs_in(columns: tuple[str, str], pairs: Sequence[tuple[Any, Any]]) -> tuple[str, list[Any]]:
    """A condition true for rows whose two `columns` are one of `pairs`, and its
    parameters: `(account_id, phone_number) IN (VALUES (%s, %s), …)`."""
    rows = ", ".join(["(%s, %s)"] * len(pairs))
    return (
        f"({columns[0]}, {columns[1]}) IN (VALUES {rows})",
        [item for pair in pairs for item in pair],
    )


def select(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one query, as tuples."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def marks(values: Sequence[Any]) -> str:
    """`%s, %s, …`: one placeholder per value, for `IN (…)`."""
    return ", ".join(["%s"] * len(values))


def insert_rows(
    table: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: str = "",
    returning: str = "",
) -> list[tuple[Any, ...]]:
    """INSERT rows (each a mapping of column to value, the same columns in each) in a
    few statements, 500 rows each; the RETURNING rows.

    >>> insert_rows("blacklist_blacklistevent", [{"account_id": 7, "action": "added"}],
    ...             returning="id")  # doctest: +SKIP
    [(41,)]
    """
    if not rows:
        return []
    columns = list(rows[0])
    row = f"({', '.join(['%s'] * len(columns))})"
    returned: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (our own names)
                f"VALUES {', '.join([row] * len(chunk))}"
                + (f" ON CONFLICT {on_conflict}" if on_conflict else "")
                + (f" RETURNING {returning}" if returning else ""),
                [values[column] for values in chunk for column in columns],
            )
            if returning:
                returned += cursor.fetchall()
    return returned
