"""A campaign's life after its launch: pause, resume, cancel, and the periodic tick."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.services import idempotency_records_purge
from campaigns.dispatch import (
    cancel_unsent,
    complete_if_done,
    due_standalone_messages,
    has_due_messages,
    release_abandoned_claims,
)
from campaigns.errors import CampaignError
from campaigns.models import Campaign, CampaignStatus, ContactList
from campaigns.phone import NormalizedNumber
from smsplatform.tasks import enqueue


def campaign_create(
    *,
    account: Account,
    name: str,
    text: str,
    sender_id: str = "",
    lists: Iterable[ContactList] = (),
    all_contacts: bool = False,
    numbers: Iterable[NormalizedNumber] = (),
    add_stop_mention: bool = True,
    scheduled_at: datetime | None = None,
    created_by: Any = None,
    form_token: str = "",
) -> Campaign:
    """A draft campaign. A Marketing account's campaign carries the mention whatever
    `add_stop_mention` says (the text engine's rule, applied again at launch).

    `form_token`: the compose form's; the draft that form already made, if any, is
    returned instead of a second one (a double click, a browser re-sending the form)."""
    chosen = list(lists)
    if any(item.account_id != account.pk for item in chosen):
        raise CampaignError(_("Unknown contact list."), code="unknown_list")
    if form_token:
        made = Campaign.objects.filter(account=account, form_token=form_token).first()
        if made is not None:
            return made
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                account=account,
                name=name,
                text=text,
                sender_id=sender_id,
                all_contacts=all_contacts,
                numbers=[[number.e164, number.region] for number in numbers],
                add_stop_mention=add_stop_mention or account.is_marketing,
                scheduled_at=scheduled_at,
                created_by=created_by,
                form_token=form_token,
            )
            campaign.lists.set(chosen)
    except IntegrityError:
        if not form_token:
            raise
        # The same form saved at the same moment by another request: that one's draft.
        return Campaign.objects.get(account=account, form_token=form_token)
    return campaign


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("account").get(pk=campaign.pk)


def _refuse(campaign: Campaign, action: str) -> CampaignError:
    return CampaignError(
        _("A campaign that is %(status)s cannot be %(action)s.")
        % {"status": campaign.get_status_display().lower(), "action": action},
        code="bad_state",
    )


def campaign_pause(campaign: Campaign) -> Campaign:
    """Stop handing messages to the gateway; the batch in flight finishes."""
    with transaction.atomic():
        locked = _locked(campaign)
        if not locked.can_pause:
            raise _refuse(locked, _("paused"))
        locked.status = CampaignStatus.PAUSED
        locked.save(update_fields=["status"])
    return locked


def campaign_resume(campaign: Campaign) -> Campaign:
    """Go on where the pause stopped (or wait for the scheduled time if not reached)."""
    from campaigns.tasks import start_dispatch

    with transaction.atomic():
        locked = _locked(campaign)
        if not locked.can_resume:
            raise _refuse(locked, _("resumed"))
        now = timezone.now()
        if locked.scheduled_at and locked.scheduled_at > now and locked.started_at is None:
            locked.status = CampaignStatus.SCHEDULED
        else:
            locked.status = CampaignStatus.SENDING
            locked.started_at = locked.started_at or now
            locked.dispatched_at = now
            start_dispatch(locked.pk)
        locked.save(update_fields=["status", "started_at", "dispatched_at"])
    return locked


def campaign_cancel(campaign: Campaign) -> tuple[Campaign, int]:
    """Cancel what has not been handed over yet and refund it. Returns the refund."""
    with transaction.atomic():
        locked = _locked(campaign)
        if not locked.can_cancel:
            raise _refuse(locked, _("cancelled"))
        refunded = cancel_unsent(locked)
        locked.status = CampaignStatus.CANCELLED
        locked.completed_at = timezone.now()
        locked.save(update_fields=["status", "completed_at"])
    return locked, refunded


def tick() -> dict[str, int]:
    """What Celery beat runs every SMS_TICK_SECONDS (and the embedded ticker thread).

    - scheduled campaigns whose time has come start sending;
    - claims older than SMS_CLAIM_TIMEOUT (a worker died) are swept: what was never
      submitted goes back to the queue (parked after SMS_DISPATCH_MAX_ATTEMPTS), what
      was submitted becomes `unknown` (see campaigns.dispatch);
    - sending campaigns with due messages and no dispatch task seen for a while
      (woken by the sending hours, or after a crash) get their tasks again;
    - sending campaigns with nothing left are completed.
    """
    from campaigns.tasks import send_messages, start_dispatch

    now = timezone.now()
    started = released = woken = parked = unknown = 0
    for campaign in Campaign.objects.filter(
        status=CampaignStatus.SCHEDULED, scheduled_at__lte=now
    ).only("pk"):
        with transaction.atomic():
            locked = _locked(campaign)
            if locked.status != CampaignStatus.SCHEDULED:
                continue
            locked.status = CampaignStatus.SENDING
            locked.started_at = now
            locked.dispatched_at = now
            locked.save(update_fields=["status", "started_at", "dispatched_at"])
            start_dispatch(locked.pk)
            started += 1

    quiet = now - timedelta(seconds=max(settings.SMS_TICK_SECONDS * 3, 30))
    timeout = timedelta(seconds=settings.SMS_CLAIM_TIMEOUT)
    for campaign in Campaign.objects.filter(
        status__in=[CampaignStatus.SENDING, CampaignStatus.PAUSED]
    ).select_related("account"):
        swept = release_abandoned_claims(Q(campaign_id=campaign.pk), older_than=timeout)
        freed = swept["queued"]
        released += freed
        parked += swept["parked"]
        unknown += swept["unknown"]
        if campaign.status != CampaignStatus.SENDING:
            continue
        if complete_if_done(campaign):
            continue
        stalled = campaign.dispatched_at is None or campaign.dispatched_at < quiet
        if (stalled or freed) and has_due_messages(campaign, now):
            Campaign.objects.filter(pk=campaign.pk).update(dispatched_at=now)
            start_dispatch(campaign.pk)
            woken += 1

    # Messages outside campaigns (STOP confirmations): a dead worker's claims, and any
    # left queued (a lost task, an unreachable gateway), are sent again from here.
    swept = release_abandoned_claims(Q(campaign__isnull=True), older_than=timeout)
    released += swept["queued"]
    parked += swept["parked"]
    unknown += swept["unknown"]
    fresh, retried = due_standalone_messages()
    if fresh:
        enqueue(send_messages, fresh)
    for message_id in retried:
        enqueue(send_messages, [message_id])
    # The API's Idempotency-Key answers are kept SMS_IDEMPOTENCY_HOURS (an indexed delete).
    forgotten = idempotency_records_purge(now=now)
    return {
        "started": started,
        "released": released,
        "parked": parked,
        "unknown": unknown,
        "woken": woken,
        "single": len(fresh) + len(retried),
        "forgotten": forgotten,
    }
