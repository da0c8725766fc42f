"""Item 11: delivery reports delivered twice, shuffled, intermediate ones after final
ones, 1 % for unknown ids, over 16 concurrent connections to gunicorn.

500 messages handed to Kannel (25 of them still `sending`: their reports overtake the
batch, which is recorded afterwards) each get accepted, buffered and a final report
(mostly delivered, some failed or rejected); every report is sent twice, the whole lot
shuffled, with a late intermediate report after each final one and 1 % of reports for
ids the platform never sent. The account listens for `message.status` callbacks.

lost: a message whose final status differs from what an in-order delivery gives.
duplicates: callbacks beyond one per message.
Also counted: answers that are not 200, unknown ids not kept.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter

from faults.base import DATABASE_URL, REDIS_URL, Result, Scenario
from faults.edge_support import close_connections, drop_tasks, queued_tasks, stamp
from faults.gunicorn_server import gunicorn, hammer

MESSAGES, STILL_SENDING, CONNECTIONS = 500, 25, 16
FINAL = {1: ("delivered", "delivered"), 2: ("failed", "failed"), 16: ("failed", "rejected")}


def run() -> Result:
    from django.utils import timezone

    from accounts.services import account_create
    from callbacks.services import callback_create
    from campaigns.dispatch import _set_sent
    from campaigns.gateways.base import SendResult
    from campaigns.models import DeliveryReport, Message, MessageState

    rng = random.Random(20261130)  # noqa: S311 (a reproducible order, not a secret)
    secret = f"faults-dlr-{stamp()}"
    slug = f"faults-dlr-{stamp()}"
    account = account_create(name=slug, slug=slug)
    callback_create(account=account, url="https://example.com/hook", events=["message.status"])
    claim = f"faults-{stamp()}"
    messages = Message.objects.bulk_create(
        Message(
            account=account, phone_number=f"+336123{n:05d}", region="FR", text="Soldes",
            segments=1, credits=1,
            state=MessageState.SENDING if n < STILL_SENDING else MessageState.SENT,
            gateway="" if n < STILL_SENDING else "kannel",
            claim=claim if n < STILL_SENDING else "",
            sent_at=None if n < STILL_SENDING else timezone.now(),
        )
        for n in range(MESSAGES)
    )  # fmt: skip
    finals = {message.pk: rng.choice([1] * 8 + [2, 16]) for message in messages}
    path = "/webhooks/kannel/report/"

    def report(ref: object, kind: int) -> tuple[str, str, dict[str, str]]:
        answer = "ACK/" if kind in {1, 4, 8} else "NACK/0x0b/Invalid Destination"
        return ("POST", path, {"secret": secret, "id": str(ref), "type": str(kind),
                               "answer": answer})  # fmt: skip

    deliveries = [
        report(pk, kind) for pk, final in finals.items() for kind in (8, 4, final) for _ in (1, 2)
    ]
    base = 10**17 + int(stamp(), 16) % 10**16  # ids no message has, this run's own
    unknown = [report(base + n, rng.choice([1, 2, 8])) for n in range(len(deliveries) // 100)]
    rng.shuffle(deliveries)
    deliveries += [report(pk, rng.choice([8, 4])) for pk in finals] + unknown
    rng.shuffle(deliveries)
    close_connections()
    with gunicorn(
        DATABASE_URL,
        workers=2,
        threads=16,
        broker_url=REDIS_URL,
        environment={"KANNEL_REPORT_SECRET": secret},
    ) as server:
        started = time.monotonic()
        statuses = hammer(server, deliveries, connections=CONNECTIONS)
        seconds = time.monotonic() - started
    sending = [message for message in messages if message.claim == claim]
    _set_sent(
        claim,
        "kannel",
        [SendResult(message.pk, True, gateway_id=f"k{message.pk}") for message in sending],
        timezone.now(),
    )  # the batch the reports overtook, recorded now

    rows = Message.objects.in_bulk([message.pk for message in messages])
    wrong = [pk for pk, kind in finals.items() if (rows[pk].state, rows[pk].report) != FINAL[kind]]
    callbacks: Counter[int] = Counter()
    raws = []
    for raw, args in queued_tasks("callbacks.deliver"):
        data = json.loads(args[1])["data"]
        if data.get("message_id") in finals:
            callbacks[data["message_id"]] += 1
            raws.append(raw)
    drop_tasks(raws)
    kept_unknown = DeliveryReport.objects.filter(
        message__isnull=True, message_ref__in=[fields["id"] for _m, _p, fields in unknown]
    ).count()
    not_200 = sum(count for status, count in statuses.items() if status != 200)
    extra_callbacks = sum(count - 1 for count in callbacks.values() if count > 1)
    missing_callbacks = len(finals) - len(callbacks)
    return Result(
        messages=len(deliveries),
        lost=len(wrong),
        duplicates=extra_callbacks,
        passed=(
            not wrong
            and not extra_callbacks
            and not missing_callbacks
            and not_200 == 0
            and kept_unknown == len(unknown)
        ),
        notes=[
            f"{len(deliveries)} reports for {MESSAGES} messages over {CONNECTIONS} connections "
            f"in {seconds:.1f} s ({len(deliveries) / seconds:.0f}/s): answers "
            f"{dict(sorted(statuses.items()))}",
            f"final statuses differing from an in-order delivery: {len(wrong)}; callbacks: "
            f"{sum(callbacks.values())} for {len(finals)} messages ({missing_callbacks} missing, "
            f"{extra_callbacks} extra); unknown ids kept: {kept_unknown}/{len(unknown)}",
        ],
    )


SCENARIO = Scenario(
    name="delivery_reports",
    description="reports twice, shuffled, late intermediates, 1 % unknown ids, 16 connections",
    run=run,
    fast=True,
)
