"""Item 6: one carrier id POSTed 1,000 times over 50 concurrent connections to the real
webhook under gunicorn (2 gthread workers of 16 threads, group commit), then 200 times
again a few seconds later, as a carrier retrying with no patience would.

Counted: inbound rows for that id, Blacklist entries, confirmation SMS (rows and
tasks queued in Redis for the workers), confirmation debits, answers that were not 2xx.
Exactly one of each, and no answer but 2xx, or the scenario fails.
"""

from __future__ import annotations

import time

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

FIRST, CONNECTIONS = 1000, 50
LATER, LATER_CONNECTIONS = 200, 20


def run() -> Result:
    from accounts.models import CreditEntry, EntryKind
    from accounts.selectors import ledger_sum
    from blacklist.models import BlacklistEntry, InboundMessage
    from blacklist.services import confirmation_text
    from campaigns.models import Message

    shop = shop_that_messaged(credits=10)
    token = kannel_token("faults-dup")
    carrier_id = f"dup-{stamp()}"
    request = (
        "POST",
        f"/webhooks/kannel/inbound/{token}/",
        {"id": carrier_id, "from": shop.number, "to": "36034", "text": "STOP"},
    )
    close_connections()
    with gunicorn(DATABASE_URL, workers=2, threads=16, broker_url=REDIS_URL) as server:
        started = time.monotonic()
        first = hammer(server, [request] * FIRST, connections=CONNECTIONS)
        seconds = time.monotonic() - started
        time.sleep(3)
        later = hammer(server, [request] * LATER, connections=LATER_CONNECTIONS)

    account = shop.account
    inbound = InboundMessage.objects.filter(carrier_id=carrier_id).count()
    entries = BlacklistEntry.objects.filter(account=account).count()
    confirmations = list(
        Message.objects.filter(
            account=account, text=confirmation_text(account.name, "FR")
        ).values_list("pk", flat=True)
    )
    tasks = [
        (raw, args)
        for raw, args in queued_tasks("campaigns.send_messages")
        if set(args[0]) & set(confirmations)
    ]
    drop_tasks([raw for raw, _args in tasks])
    debits = CreditEntry.objects.filter(account=account, kind=EntryKind.STOP_CONFIRMATION).count()
    account.refresh_from_db()
    statuses = first + later
    not_2xx = sum(count for status, count in statuses.items() if not 200 <= status < 300)
    exact = inbound == entries == len(confirmations) == len(tasks) == debits == 1
    balanced = account.credit_balance == 9 == ledger_sum(account=account)
    return Result(
        messages=FIRST + LATER,
        lost=int(min(inbound, entries, len(confirmations), debits) < 1),
        duplicates=sum(max(0, n - 1) for n in (inbound, entries, len(confirmations), len(tasks))),
        double_debits=max(0, debits - 1),
        passed=exact and balanced and not_2xx == 0,
        notes=[
            f"{FIRST} requests over {CONNECTIONS} connections in {seconds:.1f} s "
            f"({FIRST / seconds:.0f}/s), then {LATER} over {LATER_CONNECTIONS}: answers "
            f"{dict(sorted(statuses.items()))} (-1: a connection lost and the request resent)",
            f"stored {inbound} inbound row, {entries} Blacklist entry, {len(confirmations)} "
            f"confirmation ({len(tasks)} task queued), {debits} debit; balance "
            f"{account.credit_balance} = ledger {ledger_sum(account=account)}",
        ],
    )


SCENARIO = Scenario(
    name="inbound_duplicates",
    description="one carrier id POSTed 1,000 times over 50 connections, and again later",
    run=run,
    fast=True,
)
