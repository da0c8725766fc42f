"""Issue 7 item 1 through a real Kannel: the same kills as `kill_worker` (a pool process
at 25 %, the whole worker at 75 %) on a 20,000-recipient campaign sent through
bearerbox and smsbox to fakesmsc, Kannel's own carrier stand-in. smsbox is stopped
(SIGSTOP) for half a second around each kill, so the killed process is waiting for
Kannel's answers mid-chunk. Kannel calls the delivery-report webhook by itself
(dlr-mask 1: delivered); what it took settles `unknown` rows, support sends the rest
again. Counted from fakesmsc's output: every recipient once.
"""

from __future__ import annotations

from faults.base import Result, Scenario
from faults.dispatch_faults import kill_child, kill_worker, run_campaign, verdict
from faults.kannel_carrier import kannel_carrier

RECIPIENTS = 20_000


def run() -> Result:
    outcome = run_campaign(
        name="kill-kannel",
        recipients=RECIPIENTS,
        faults=[(0.25, kill_child), (0.75, kill_worker)],
        edge=kannel_carrier,
        extra_env={"KANNEL_DLR_MASK": "1"},
    )
    return verdict(outcome, RECIPIENTS)


SCENARIO = Scenario(
    name="kill_worker_kannel",
    description="kill_worker's kills on 20,000 through real Kannel and fakesmsc",
    run=run,
)
