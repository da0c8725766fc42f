"""Issue 7 item 2, third part: PostgreSQL is restarted (`pg_ctl restart -m fast`: every
connection cut) at about half of a 100,000-recipient campaign. The platform runs on a
private cluster made for the run (faults/throwaway.py); workers, beat, gunicorn and
this process lose their connections and make new ones. Every recipient once, the
ledger exact.
"""

from __future__ import annotations

import time

from faults.base import Result, Scenario
from faults.dispatch_faults import Context, run_campaign, verdict
from faults.edge_support import close_connections
from faults.throwaway import platform_on, private_postgres

RECIPIENTS = 100_000


def run() -> Result:
    with private_postgres() as postgres:
        postgres.create_database("smsplatform_faults")
        url = postgres.url("smsplatform_faults")
        with platform_on(database_url=url):

            def restart(_context: Context) -> str:
                started = time.monotonic()
                postgres.fast_restart()
                close_connections()
                return f"PostgreSQL fast restart ({time.monotonic() - started:.1f} s)"

            outcome = run_campaign(
                name="pg", recipients=RECIPIENTS, faults=[(0.5, restart)], database_url=url
            )
            return verdict(outcome, RECIPIENTS)


SCENARIO = Scenario(
    name="postgres_restart",
    description="PostgreSQL (a private cluster) fast-restarted at 50 % of 100,000",
    run=run,
)
