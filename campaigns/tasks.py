"""Celery tasks of the campaigns app.

Dispatch runs as a few `campaigns.dispatch` tasks per campaign: each claims and sends
batches for up to SMS_DISPATCH_TASK_SECONDS, then hands over to a fresh task, so no
task runs long and a duplicated one only shares the work (claims never overlap).
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings

from campaigns.imports import import_run
from smsplatform.tasks import enqueue

ACTIVITY_EVERY_SECONDS = 5.0
log = logging.getLogger(__name__)


@shared_task(name="campaigns.import_contacts")
def import_contacts(contact_import_id: int) -> None:
    import_run(contact_import_id)


def start_dispatch(campaign_id: int) -> None:
    """Start the dispatch tasks of a campaign once the current transaction commits."""
    # In-process (embedded default, tests) one task is enough: SQLite has one writer.
    tasks = 1 if settings.CELERY_TASK_ALWAYS_EAGER else settings.SMS_DISPATCH_PARALLEL
    for _ in range(tasks):
        enqueue(dispatch_campaign, campaign_id)


@shared_task(name="campaigns.dispatch")
def dispatch_campaign(campaign_id: int) -> int:
    """Send batches of a campaign until none is due or the time slice is used up."""
    from campaigns.dispatch import send_next_batch
    from campaigns.models import Campaign, CampaignStatus

    campaign = Campaign.objects.select_related("account").filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return 0
    from campaigns.dispatch import complete_if_done, note_activity

    deadline = time.monotonic() + settings.SMS_DISPATCH_TASK_SECONDS
    handed = 0
    noted = 0.0
    cursor = 0
    while True:
        outcome = send_next_batch(campaign, after_id=cursor)
        cursor = outcome.last_id
        handed += outcome.claimed
        if not outcome.claimed:
            complete_if_done(campaign)
            return handed
        if outcome.retry:
            log.warning("campaign %s: gateway unreachable, the tick will try again", campaign_id)
            return handed
        if time.monotonic() - noted > ACTIVITY_EVERY_SECONDS:
            # The tick restarts campaigns without activity: say we are alive, not per batch.
            note_activity(campaign)
            noted = time.monotonic()
        if not settings.CELERY_TASK_ALWAYS_EAGER and time.monotonic() > deadline:
            dispatch_campaign.delay(campaign_id)
            return handed


@shared_task(name="campaigns.send_messages")
def send_messages(message_ids: list[int]) -> int:
    """Send messages that belong to no campaign (a STOP confirmation, a single send)."""
    from campaigns.dispatch import send_messages as send

    return send(list(message_ids)).claimed


@shared_task(name="campaigns.tick")
def tick() -> dict[str, int]:
    """Start due scheduled campaigns, release abandoned claims, wake waiting ones."""
    from campaigns.lifecycle import tick as run_tick

    return run_tick()


@shared_task(name="campaigns.simulate_reports")
def simulate_reports(message_ids: list[int]) -> int:
    """The local gateway's delivery reports, through the same path as a real gateway's."""
    from campaigns.gateways.local import simulated_outcome
    from campaigns.models import Message
    from campaigns.reports import apply_report

    applied = 0
    for message_id, phone_number in Message.objects.filter(
        id__in=message_ids, gateway="local"
    ).values_list("id", "phone_number"):
        status, detail = simulated_outcome(phone_number)
        apply_report(
            gateway="local", message_ref=str(message_id), status=status, raw=status, detail=detail
        )
        applied += 1
    return applied
