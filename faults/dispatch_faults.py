"""One run of a campaign through real workers with faults injected, and its verdict.

Every dispatch scenario (kill a worker, shut it down warm, restart Redis or
PostgreSQL, STOPs mid-flight) is the same run with different faults: a campaign of
`recipients` British numbers is launched through `launch_campaign`; a real `celery
worker` (2 prefork processes) and `celery beat` dispatch it to the recording carrier
through the platform's Kannel client; `faults` are applied when the carrier has
received the given share of the campaign; then the platform is left to recover.

Reconciliation, as the platform's support would do it: rows whose outcome is unknown
(handed to the gateway, no answer recorded: the sweeper's `unknown`) are first settled
by the carrier's delivery reports (the carrier reports the messages it received;
only those rows are reported, so 100,000 reports do not take minutes); those still
without a report are sent again by support's `resend_unreported`. The notes say how
many went each way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from faults.base import DATABASE_URL, REDIS_URL, Result
from faults.carrier import Carrier
from faults.dispatch_support import (
    SECRET,
    Counts,
    Stack,
    campaign_for,
    clear_broker,
    count,
    describe,
    new_account,
    number_block,
    retire_leftovers,
    running_stack,
    sample,
    wait_until,
)
from faults.edge_support import close_connections
from faults.gunicorn_server import gunicorn


@dataclass
class Context:
    """What a fault can act on."""

    stack: Stack
    carrier: Carrier
    web: Any  # faults.gunicorn_server.Server
    campaign: Any
    numbers: list[str]


Fault = Callable[[Context], str]  # does it, says what it did


@dataclass
class Run:
    """What a run measured, for the scenario's verdict and notes."""

    campaign: Any = None
    counts: Counts | None = None
    recover_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    unknown: int = 0
    settled_by_report: int = 0
    resent_by_support: int = 0
    settled: bool = False
    carrier: Carrier | None = None


HOLD_SECONDS = 0.5


def kill_child(context: Context) -> str:
    """kill -9 of one pool process while the carrier holds its answers: the process is
    certainly between marking a chunk submitted and recording its answers."""
    context.carrier.hold()
    time.sleep(HOLD_SECONDS)
    pid = context.stack.worker.kill_child()
    held = context.carrier.release()
    return f"kill -9 of pool process {pid} ({_in_flight(held)})"


def kill_worker(context: Context) -> str:
    """kill -9 of the main process and its children, mid-chunk as above; restarted."""
    context.carrier.hold()
    time.sleep(HOLD_SECONDS)
    context.stack.worker.kill_all()
    held = context.carrier.release()
    time.sleep(1)
    context.stack.start_worker()
    return f"kill -9 of the whole worker, main and children ({_in_flight(held)}), restarted"


def _in_flight(held: int) -> str:
    if held < 0:
        return f"smsbox stopped for {HOLD_SECONDS} s around it"
    return f"{held} requests held unanswered by the carrier"


def warm_shutdown(context: Context) -> str:
    seconds = context.stack.worker.terminate(timeout=90)
    context.stack.start_worker()
    return f"SIGTERM (warm shutdown, {seconds:.1f} s to exit), restarted"


def states(campaign: Any) -> dict[str, int]:
    from django.db.models import Count

    from campaigns.models import Message

    return dict(
        Message.objects.filter(campaign_id=campaign.pk)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )


OPEN = ("queued", "sending")


def settled_down(campaign: Any) -> bool:
    """No row queued or being handed over (a database restarting: not yet)."""
    from django.db import DatabaseError

    try:
        return not any(states(campaign).get(state) for state in OPEN)
    except DatabaseError:
        close_connections()
        return False


def reconcile(campaign: Any, carrier: Carrier, run: Run, *, seconds: float) -> None:
    """Wait for the sweeper; settle `unknown` rows by report, then by support."""
    from campaigns.models import Message

    deadline = time.monotonic() + seconds
    for _round in range(5):
        if not wait_until(
            lambda: settled_down(campaign), seconds=max(1, deadline - time.monotonic())
        ):
            run.notes.append(f"not settled in {seconds:.0f} s: {states(campaign)}")
            return
        unknown = list(
            Message.objects.filter(campaign_id=campaign.pk, state="unknown").values_list(
                "id", flat=True
            )
        )
        if not unknown:
            run.settled = True
            return
        run.unknown += len(unknown)
        carrier.report(unknown)  # only those it received get a report
        carrier.wait_reports(timeout=120)
        still = Message.objects.filter(campaign_id=campaign.pk, state="unknown")
        left = still.count()
        run.settled_by_report += len(unknown) - left
        if left:
            from campaigns.dispatch import resend_unreported

            # Support's decision, once the reports had their chance.
            run.resent_by_support += resend_unreported(still, older_than=timedelta(0))
    run.notes.append(f"still unknown after 5 rounds: {states(campaign)}")


def run_campaign(
    *,
    name: str,
    recipients: int,
    faults: list[tuple[float, Fault]],
    settle_seconds: float = 600,
    extra_env: dict[str, str] | None = None,
    prepare: Callable[[Any, list[str]], None] | None = None,
    after_launch: Callable[[Context], None] | None = None,
    scheduled_at: Any = None,
    before_reconcile: Callable[[Context, Run], None] | None = None,
    drop: Callable[[int], bool] | None = None,
    database_url: str = DATABASE_URL,
    redis_url: str = REDIS_URL,
    edge: Callable[[], AbstractContextManager[Any]] | None = None,
) -> Run:
    """Launch, inject `faults` at their share of the campaign received, recover, count.

    `edge`: the carrier (default: `faults/carrier.py`'s recording server; or a real
    Kannel with fakesmsc, `faults/kannel_carrier.py`)."""
    run = Run()
    clear_broker(redis_url)
    retire_leftovers()
    account = new_account(recipients, name)
    block = number_block()
    numbers = [f"{block}{n:06d}" for n in range(recipients)]
    if prepare is not None:
        prepare(account, numbers)
    close_connections()
    with (
        edge() if edge is not None else Carrier(drop=drop or ()) as carrier,
        gunicorn(
            database_url,
            workers=1,
            threads=8,
            broker_url=redis_url,
            environment={"KANNEL_REPORT_SECRET": SECRET},
        ) as web,
        running_stack(
            carrier.url,
            public_url=web.url,
            extra={
                "DATABASE_URL": database_url,
                "CELERY_BROKER_URL": redis_url,
                **getattr(carrier, "env", {}),
                **(extra_env or {}),
            },
        ) as stack,
    ):
        started = time.monotonic()
        campaign = campaign_for(account, numbers, scheduled_at=scheduled_at)
        run.campaign = campaign
        run.carrier = carrier
        if hasattr(carrier, "bind"):
            carrier.bind(campaign)  # a real Kannel's carrier knows messages by number
        context = Context(stack, carrier, web, campaign, numbers)
        close_connections()
        if after_launch is not None:
            after_launch(context)
        last_fault: float | None = None
        for share, fault in faults:
            target = int(share * recipients)
            if not wait_until(lambda t=target: carrier.count() >= t, seconds=600, step=0.02):
                run.notes.append(f"never reached {target:,} received: {states(campaign)}")
                break
            at = carrier.count()
            what = fault(context)
            last_fault = time.monotonic()
            run.notes.append(f"at {at:,} received: {what}")
        if before_reconcile is not None:
            before_reconcile(context, run)
        reconcile(campaign, carrier, run, seconds=settle_seconds)
        expected = recipients - states(campaign).get("skipped", 0)
        wait_until(lambda: len(carrier.per_id()) >= expected, seconds=60)
        if last_fault is not None:
            run.recover_seconds = time.monotonic() - last_fault
        time.sleep(2)  # anything sent twice late would arrive now
        run.counts = count(campaign, carrier.per_id())
        run.notes.append(
            f"{recipients:,} recipients in {time.monotonic() - started:.1f} s; "
            + describe(run.counts)
        )
        if run.unknown or run.settled_by_report or run.resent_by_support:
            attempts = dict(getattr(carrier, "report_attempts", {}))
            run.notes.append(
                f"went unknown: {run.unknown}; settled by the carrier's report "
                f"{run.settled_by_report}; sent again by support {run.resent_by_support}"
                + (f" (report webhook answers, retries included: {attempts})" if attempts else "")
            )
        if run.counts.duplicate_ids:
            run.notes.append(f"ids received twice: {sample(run.counts.duplicate_ids)}")
        if run.counts.lost_ids:
            run.notes.append(f"ids never received: {sample(run.counts.lost_ids)}")
    clear_broker(redis_url)
    return run


def verdict(run: Run, recipients: int) -> Result:
    counts = run.counts or Counts()
    return Result(
        messages=counts.messages,
        lost=counts.lost,
        duplicates=counts.duplicates,
        double_debits=counts.double_debits,
        recover_seconds=run.recover_seconds,
        passed=(
            counts.messages == recipients
            and counts.lost == 0
            and counts.duplicates == 0
            and counts.money_exact
            and run.settled
        ),
        notes=run.notes,
    )
