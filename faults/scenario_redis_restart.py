"""Issue 7 item 2, second part: the broker is restarted at about half of a
100,000-recipient campaign. A private `redis-server --save ''` (faults/throwaway.py),
killed and started again empty: every queued and unacknowledged task is gone. Redis is
not the source of truth: beat's tick finds the campaign without activity and starts
its dispatch again from the message rows. Every recipient once, the ledger exact.
"""

from __future__ import annotations

from faults.base import Result, Scenario
from faults.dispatch_faults import Context, run_campaign, verdict
from faults.throwaway import platform_on, private_redis

RECIPIENTS = 100_000
DOWN_SECONDS = 2.0


def run() -> Result:
    with private_redis() as redis_server, platform_on(redis_url=redis_server.url):

        def restart(_context: Context) -> str:
            redis_server.restart(down_seconds=DOWN_SECONDS)
            return f"Redis killed and started again empty ({DOWN_SECONDS:.0f} s down)"

        outcome = run_campaign(
            name="redis",
            recipients=RECIPIENTS,
            faults=[(0.5, restart)],
            redis_url=redis_server.url,
        )
    return verdict(outcome, RECIPIENTS)


SCENARIO = Scenario(
    name="redis_restart",
    description="the broker (a private Redis) restarted empty at 50 % of 100,000",
    run=run,
)
