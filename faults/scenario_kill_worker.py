"""Issue 7 item 1: `kill -9` a worker's pool process at about 25 % of a 100,000-recipient
campaign, then the whole worker (main and children) at about 75 %, and restart it.

Real PostgreSQL, Redis, `celery worker` (prefork, 2 processes) and `celery beat`; the
carrier is `faults/carrier.py` behind the platform's own Kannel client. Celery re-runs
the killed tasks (late acks); the guard against a second submission is the message
row's state, never the broker. Passes when every recipient reached the carrier exactly
once and the campaign kept exactly the credits of the messages submitted.
"""

from __future__ import annotations

from faults.base import Result, Scenario
from faults.dispatch_faults import kill_child, kill_worker, run_campaign, verdict

RECIPIENTS = 100_000


def run() -> Result:
    outcome = run_campaign(
        name="kill",
        recipients=RECIPIENTS,
        faults=[(0.25, kill_child), (0.75, kill_worker)],
    )
    return verdict(outcome, RECIPIENTS)


SCENARIO = Scenario(
    name="kill_worker",
    description="kill -9 a pool process at 25 %, the whole worker at 75 % of 100,000",
    run=run,
)
