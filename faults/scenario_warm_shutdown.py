"""Issue 7 item 2, first part: the worker gets SIGTERM (Celery's warm shutdown: the
running dispatch tasks finish their slice) at about half of a 100,000-recipient
campaign, and is started again. Every recipient once, the ledger exact.
"""

from __future__ import annotations

from faults.base import Result, Scenario
from faults.dispatch_faults import run_campaign, verdict, warm_shutdown

RECIPIENTS = 100_000


def run() -> Result:
    outcome = run_campaign(name="term", recipients=RECIPIENTS, faults=[(0.5, warm_shutdown)])
    return verdict(outcome, RECIPIENTS)


SCENARIO = Scenario(
    name="warm_shutdown",
    description="SIGTERM to the worker at 50 % of 100,000, then started again",
    run=run,
)
