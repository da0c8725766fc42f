"""Item 7: PostgreSQL fails between storing a reply and its Blacklist entry.

Under gunicorn (group commit), a trigger makes every INSERT into the Blacklist raise
(a real database error, installed and removed by the scenario) while 100 numbers send
STOP and 100 others an ordinary reply, at once. The STOPs must get a non-2xx answer and
leave nothing behind (no reply stored, no entry, no confirmation, no debit); the
ordinary replies, committed in the same groups, must not be failed by them. Then the
trigger goes and the carrier sends the STOPs again, as Kannel does (each twice):
every STOP is applied exactly once. "recover" is the time from the end of the failure
to the last STOP applied.
"""

from __future__ import annotations

import time
from collections import Counter

from faults.base import DATABASE_URL, REDIS_URL, Result, Scenario
from faults.edge_support import (
    close_connections,
    drop_tasks,
    kannel_token,
    queued_tasks,
    shop_that_messaged,
    stamp,
)
from faults.gunicorn_server import gunicorn, hammer

STOPS = 100
REPLIES = 100
TRIGGER = "faults_refuse_blacklist"


def _trigger(install: bool) -> None:
    from django.db import connection

    from blacklist.models import BlacklistEntry

    table = BlacklistEntry._meta.db_table
    with connection.cursor() as cursor:
        if install:
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'faults: Blacklist insert refused'; END $$"
            )
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
            )
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")


def run() -> Result:
    from accounts.models import CreditEntry, EntryKind
    from accounts.selectors import ledger_sum
    from blacklist.models import BlacklistEntry, InboundMessage
    from blacklist.services import confirmation_text
    from campaigns.models import Message

    shop = shop_that_messaged(credits=STOPS, numbers=STOPS + REPLIES)
    account = shop.account
    token = kannel_token("faults-fail")
    run_id = stamp()
    path = f"/webhooks/kannel/inbound/{token}/"
    stops = [
        ("POST", path, {"id": f"{run_id}-stop-{n}", "from": number, "to": "36034", "text": "STOP"})
        for n, number in enumerate(shop.numbers[:STOPS])
    ]
    replies = [
        ("POST", path, {"id": f"{run_id}-reply-{n}", "from": number, "to": "36034",
                        "text": "Merci, à samedi"})
        for n, number in enumerate(shop.numbers[STOPS:])
    ]  # fmt: skip
    mixed = [request for pair in zip(stops, replies, strict=True) for request in pair]
    stop_rows = InboundMessage.objects.filter(carrier_id__startswith=f"{run_id}-stop-")
    close_connections()
    with gunicorn(DATABASE_URL, workers=2, threads=16, broker_url=REDIS_URL) as server:
        _trigger(install=True)
        try:
            during = hammer(server, mixed, connections=40)
            stored_during = stop_rows.count()
            entries_during = BlacklistEntry.objects.filter(account=account).count()
            replies_stored = InboundMessage.objects.filter(
                carrier_id__startswith=f"{run_id}-reply-"
            ).count()
        finally:
            _trigger(install=False)
            close_connections()
        recovered_from = time.monotonic()
        retried: Counter[int] = Counter()
        for _round in range(2):  # Kannel's http-request-retry: every STOP again, twice
            retried += hammer(server, stops, connections=20)
        recover_seconds = time.monotonic() - recovered_from

    confirmations = list(
        Message.objects.filter(
            account=account, text=confirmation_text(account.name, "FR")
        ).values_list("pk", flat=True)
    )
    tasks = [
        raw
        for raw, args in queued_tasks("campaigns.send_messages")
        if set(args[0]) & set(confirmations)
    ]
    drop_tasks(tasks)
    entries = BlacklistEntry.objects.filter(account=account).count()
    debits = CreditEntry.objects.filter(account=account, kind=EntryKind.STOP_CONFIRMATION).count()
    stored = stop_rows.count()
    account.refresh_from_db()
    stops_answered = {  # the STOPs' answers during the failure (every other request)
        status: count for status, count in during.items() if status not in {200}
    }
    half_done = stored_during + entries_during
    exact = stored == entries == len(confirmations) == debits == STOPS
    return Result(
        messages=len(mixed) + sum(retried.values()),
        lost=max(0, STOPS - min(stored, entries, len(confirmations), debits)),
        duplicates=max(0, stored - STOPS)
        + max(0, entries - STOPS)
        + max(0, len(confirmations) - STOPS),
        double_debits=max(0, debits - STOPS),
        recover_seconds=recover_seconds,
        passed=(
            half_done == 0
            and during.get(200, 0) == REPLIES
            and sum(stops_answered.values()) == STOPS
            and replies_stored == REPLIES
            and retried == Counter({200: 2 * STOPS})
            and exact
            and account.credit_balance == 0 == ledger_sum(account=account)
        ),
        notes=[
            f"during the failure: answers {dict(sorted(during.items()))}; STOPs stored "
            f"{stored_during}, entries {entries_during}, ordinary replies stored "
            f"{replies_stored}/{REPLIES}",
            f"after: retries answered {dict(retried)}; {stored} STOPs stored, {entries} "
            f"entries, {len(confirmations)} confirmations ({len(tasks)} tasks), {debits} "
            f"debits; balance {account.credit_balance} = ledger {ledger_sum(account=account)}",
        ],
    )


SCENARIO = Scenario(
    name="inbound_failure",
    description="PostgreSQL refuses the Blacklist INSERT while 100 STOPs arrive; then retries",
    run=run,
    fast=True,
)
