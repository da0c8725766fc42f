"""Issue 7 item 5: the ambiguous gateway failure. For 1 message in 40 of a
2,000-recipient campaign the carrier accepts the request, then the connection drops
before any answer (`faults/carrier.py`, `drop`).

The platform cannot know whether the carrier took those messages: each must be marked
`unknown`, stay so through ten ticks of the sweeper (never re-sent blindly, never
refunded as failed), then be settled by the carrier's delivery report (`delivered`).
Every message reaches the carrier exactly once and the ledger keeps the credits of all
of them.
"""

from __future__ import annotations

import time
from collections import Counter

from faults.base import Result, Scenario
from faults.dispatch_faults import Context, Run, run_campaign, states, verdict
from faults.dispatch_support import wait_until

RECIPIENTS = 2_000
EVERY = 40
WATCH_SECONDS = 10  # ten ticks of the sweeper (SMS_TICK_SECONDS=1)

observed: dict[str, object] = {}


def _dropped(message_id: int) -> bool:
    return message_id % EVERY == 0


def _watch(context: Context, _run: Run) -> None:
    """Before the reports: what the platform made of the dropped requests."""
    from campaigns.models import Message

    wait_until(
        lambda: not any(states(context.campaign).get(state) for state in ("queued", "sending")),
        seconds=120,
    )
    ids = [
        message_id
        for message_id in Message.objects.filter(campaign_id=context.campaign.pk).values_list(
            "id", flat=True
        )
        if _dropped(message_id)
    ]

    def dropped_states() -> Counter[str]:
        return Counter(Message.objects.filter(id__in=ids).values_list("state", flat=True))

    observed["ids"] = ids
    observed["first"] = dropped_states()
    time.sleep(WATCH_SECONDS)
    observed["later"] = dropped_states()
    per_id = context.carrier.per_id()
    observed["received"] = Counter(per_id.get(message_id, 0) for message_id in ids)


def run() -> Result:
    from campaigns.models import Message

    observed.clear()
    outcome = run_campaign(
        name="drop",
        recipients=RECIPIENTS,
        faults=[],
        drop=_dropped,
        before_reconcile=_watch,
        settle_seconds=120,
    )
    result = verdict(outcome, RECIPIENTS)
    ids = observed.get("ids", [])
    final = Counter(Message.objects.filter(id__in=ids).values_list("state", flat=True))
    dropped = len(ids)
    result.notes.append(
        f"{dropped} requests accepted then cut: states once dispatch was done "
        f"{dict(observed.get('first', {}))}, {WATCH_SECONDS} s later "
        f"{dict(observed.get('later', {}))}; receptions per id "
        f"{dict(observed.get('received', {}))}; after the carrier's reports {dict(final)}"
    )
    result.passed = (
        result.passed
        and dropped == RECIPIENTS // EVERY
        and observed.get("first") == Counter({"unknown": dropped})
        and observed.get("later") == Counter({"unknown": dropped})
        and observed.get("received") == Counter({1: dropped})
        and final == Counter({"delivered": dropped})
        and outcome.settled_by_report == dropped
        and outcome.resent_by_support == 0
    )
    return result


SCENARIO = Scenario(
    name="gateway_drop",
    description="the carrier accepts 1 in 40 requests and drops the connection unanswered",
    run=run,
    fast=True,
)
