"""Item 13 on the real server: forged carrier calls write nothing.

Under gunicorn, over 16 connections: signed JSON replies with one character of the
body changed, the signature changed (one character, or characters that are not
ASCII), a timestamp six minutes away either way, a header missing; Kannel replies with
a token one character off; delivery reports with a secret one character off or none.
Every one must be refused (401 or 403) and no table may gain a row. Then the same
calls, correctly signed, must go through (a server refusing everything would pass the
first half).

lost: valid calls refused. duplicates: forged calls accepted, or rows they wrote.
"""

from __future__ import annotations

import json
import time

from faults.base import DATABASE_URL, REDIS_URL, Result, Scenario
from faults.edge_support import (
    close_connections,
    drop_tasks,
    queued_tasks,
    shop_that_messaged,
    stamp,
)
from faults.gunicorn_server import gunicorn, hammer

ROUNDS = 25


def _flip(text: str, index: int) -> str:
    return text[:index] + ("0" if text[index] != "0" else "1") + text[index + 1 :]


def _counts() -> dict[str, int]:
    from accounts.models import CreditEntry
    from blacklist.models import BlacklistEntry, InboundMessage, RejectedInbound
    from campaigns.models import DeliveryReport, Message

    return {
        model.__name__: model.objects.count()
        for model in (
            InboundMessage, RejectedInbound, BlacklistEntry, CreditEntry, Message, DeliveryReport
        )
    }  # fmt: skip


def run() -> Result:
    from blacklist.models import GatewayKind
    from blacklist.services import connection_create
    from blacklist.signing import sign

    shop = shop_that_messaged(credits=ROUNDS, name="forged", numbers=ROUNDS)
    run_id = stamp()
    json_name = f"faults-json-{run_id}"[:40]
    _json, json_secret = connection_create(name=json_name, kind=GatewayKind.JSON)
    _kannel, token = connection_create(name=f"faults-kannel-{run_id}"[:40], kind=GatewayKind.KANNEL)
    report_secret = f"faults-report-{run_id}"
    json_path = f"/webhooks/inbound/{json_name}/"

    def signed(body: bytes, *, at: float | None = None, signature: str | None = None) -> tuple:
        timestamp = str(int(time.time() if at is None else at))
        headers = {
            "Content-Type": "application/json",
            "X-Signature-Timestamp": timestamp,
            "X-Signature": signature or sign(json_secret, timestamp, body),
        }
        return ("POST", json_path, body, headers)

    forged, valid = [], []
    for n, number in enumerate(shop.numbers):
        body = json.dumps({"id": f"{run_id}-{n}", "from": number, "text": "STOP"}).encode()
        good = signed(body)
        text = body.decode()
        timestamp, signature = good[3]["X-Signature-Timestamp"], good[3]["X-Signature"]
        forged += [
            ("POST", json_path, _flip(text, n % len(text)).encode(), good[3]),
            signed(body, signature=_flip(signature, n % 64)),
            signed(body, signature="é" * 64),
            signed(body, at=time.time() - 360),
            signed(body, at=time.time() + 360),
            ("POST", json_path, body, {"Content-Type": "application/json",
                                       "X-Signature-Timestamp": timestamp}),
            ("POST", json_path, body, {"Content-Type": "application/json",
                                       "X-Signature": signature}),
            ("POST", f"/webhooks/kannel/inbound/{_flip(token, n % len(token))}/",
             {"id": f"{run_id}-k{n}", "from": number, "to": "36034", "text": "STOP"}),
            ("POST", "/webhooks/kannel/report/",
             {"secret": _flip(report_secret, n % len(report_secret)), "id": "1", "type": "1"}),
            ("POST", "/webhooks/kannel/report/", {"id": "1", "type": "1"}),
        ]  # fmt: skip
        valid.append(good)
    valid.append(
        ("POST", "/webhooks/kannel/report/", {"secret": report_secret, "id": "x", "type": "1"})
    )

    before = _counts()
    close_connections()
    with gunicorn(
        DATABASE_URL, broker_url=REDIS_URL, environment={"KANNEL_REPORT_SECRET": report_secret}
    ) as server:
        refused = hammer(server, forged, connections=16)
        written = {name: count - before[name] for name, count in _counts().items()}
        accepted = hammer(server, valid, connections=16)
    from campaigns.models import Message

    confirmations = set(
        Message.objects.filter(account=shop.account, marketing=False).values_list("pk", flat=True)
    )
    drop_tasks(
        [
            raw
            for raw, args in queued_tasks("campaigns.send_messages")
            if set(args[0]) & confirmations
        ]
    )

    let_through = sum(count for status, count in refused.items() if status not in {401, 403})
    rows = sum(written.values())
    valid_refused = sum(count for status, count in accepted.items() if status != 200)
    return Result(
        messages=len(forged) + len(valid),
        lost=valid_refused,
        duplicates=let_through + rows,
        passed=let_through == 0 and rows == 0 and valid_refused == 0,
        notes=[
            f"{len(forged)} forged calls: answers {dict(sorted(refused.items()))}; rows written "
            f"meanwhile: {written}",
            f"{len(valid)} valid calls afterwards: answers {dict(sorted(accepted.items()))}",
        ],
    )


SCENARIO = Scenario(
    name="forged_signatures",
    description="forged, stale and unsigned carrier calls under gunicorn write nothing",
    run=run,
    fast=True,
)
