"""Issue 7 item 3: a campaign scheduled two hours ahead, with a short broker visibility
timeout (CELERY_VISIBILITY_TIMEOUT=60 for the worker and beat), is sent
exactly once.

Redis re-delivers a task that a worker has held unacknowledged longer than the
visibility timeout: a far-future ETA or countdown task would be delivered again and
again for two hours. So, while the campaign waits, the broker is read every second for
longer than the visibility timeout: its queue, its unacknowledged hash and index must
hold no task with an ETA and no task for the campaign (the tick starts scheduled
campaigns from the database). Then its `scheduled_at` is moved into the past, as
time passing would; the campaign is dispatched, and the run waits another visibility
timeout after the last message for anything delivered twice.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

from faults.base import REDIS_URL, Result, Scenario
from faults.dispatch_faults import Context, Run, run_campaign, settled_down, verdict
from faults.dispatch_support import wait_until
from faults.edge_support import QUEUE, stamp

RECIPIENTS = 20_000
VISIBILITY = 60
WATCH_SECONDS = VISIBILITY + 15

seen: dict[str, int] = {}


def _broker_tasks() -> list[dict]:
    """Every task message the broker holds: waiting in the queue, or delivered and not
    acknowledged yet (where a worker's ETA tasks wait)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    raws = list(client.lrange(QUEUE, 0, -1)) + [
        json.loads(value)[0] for value in client.hvals("unacked")
    ]
    messages = []
    for raw in raws:
        message = raw if isinstance(raw, dict) else json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        messages.append({**message.get("headers", {}), "args": args})
    return messages


def _watch(context: Context) -> None:
    from django.utils import timezone

    from campaigns.models import Campaign
    from campaigns.tasks import tick

    campaign_id = context.campaign.pk
    seen.update(samples=0, eta=0, for_campaign=0, tasks=0, received=0, probe=0)
    # The reader's proof, and what a countdown does under this timeout: a harmless tick
    # two hours ahead. It must be seen; the worker's log says how often Redis gave it
    # (the run's Redis database is emptied at the end: it never runs).
    probe = f"faults-eta-probe-{stamp()}"
    tick.apply_async(countdown=7200, task_id=probe)
    deadline = time.monotonic() + WATCH_SECONDS
    while time.monotonic() < deadline:
        for task in _broker_tasks():
            seen["tasks"] += 1
            if task.get("id") == probe:
                seen["probe"] += 1
            elif task.get("eta") or task.get("countdown"):
                seen["eta"] += 1
            if campaign_id in (task.get("args") or []):
                seen["for_campaign"] += 1
        seen["samples"] += 1
        time.sleep(1)
    seen["received"] = context.carrier.count()
    log = context.stack.worker.log_path.read_text(errors="replace")
    seen["probe_deliveries"] = sum(
        1 for line in log.splitlines() if probe in line and "received" in line.lower()
    )
    seen["status_before"] = Campaign.objects.get(pk=campaign_id).status
    Campaign.objects.filter(pk=campaign_id).update(
        scheduled_at=timezone.now() - timedelta(seconds=1)
    )


def _after(context: Context, _run: Run) -> None:
    """Once sent, one more visibility timeout for any re-delivered task to act."""
    wait_until(lambda: settled_down(context.campaign), seconds=300)
    time.sleep(VISIBILITY + 5)


def run() -> Result:
    from django.utils import timezone

    seen.clear()
    outcome = run_campaign(
        name="scheduled",
        recipients=RECIPIENTS,
        faults=[],
        scheduled_at=timezone.now() + timedelta(hours=2),
        after_launch=_watch,
        before_reconcile=_after,
        extra_env={"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY)},
    )
    result = verdict(outcome, RECIPIENTS)
    result.notes.append(
        f"while scheduled ({WATCH_SECONDS} s, visibility timeout {VISIBILITY} s): campaign "
        f"{seen.get('status_before')}, {seen.get('samples')} reads of the broker, "
        f"{seen.get('tasks')} task messages seen, {seen.get('eta')} with an ETA or countdown,"
        f" {seen.get('for_campaign')} for the campaign; {seen.get('received')} received",
    )
    result.notes.append(
        f"the probe (a tick with a 2 h countdown, to prove the reader) was seen in "
        f"{seen.get('probe')} reads and delivered to the worker "
        f"{seen.get('probe_deliveries')} time(s) in {WATCH_SECONDS} s"
    )
    result.passed = (
        result.passed
        and seen.get("status_before") == "scheduled"
        and seen.get("eta") == 0
        and seen.get("for_campaign") == 0
        and seen.get("received") == 0
        and seen.get("probe", 0) > 0
    )
    return result


SCENARIO = Scenario(
    name="scheduled_campaign",
    description="scheduled 2 h ahead, visibility timeout 60 s: no ETA task, sent once",
    run=run,
)
