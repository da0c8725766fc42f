"""Issue 7 item 1, small enough for CI: `kill -9` a worker's pool process in the middle
of a 5,000-recipient campaign (real worker, beat, PostgreSQL, Redis; the recording
carrier). Same counts as `kill_worker`: every recipient once, the ledger exact.
"""

from __future__ import annotations

from faults.base import Result, Scenario
from faults.dispatch_faults import kill_child, run_campaign, verdict

RECIPIENTS = 5_000


def run() -> Result:
    outcome = run_campaign(
        name="kill-fast", recipients=RECIPIENTS, faults=[(0.4, kill_child)], settle_seconds=120
    )
    return verdict(outcome, RECIPIENTS)


SCENARIO = Scenario(
    name="kill_worker_fast",
    description="kill -9 a pool process in the middle of a 5,000-recipient campaign",
    run=run,
    fast=True,
)
