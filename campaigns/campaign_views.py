"""Customer-area pages for campaigns: the list, the review before launch, the live
progress afterwards, pause/resume/cancel, and the local gateway's Outbox."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import account_required
from accounts.errors import InsufficientCredits
from campaigns import lifecycle
from campaigns.errors import CampaignError
from campaigns.launch import launch_campaign, plan_campaign
from campaigns.models import CampaignStatus, Message
from campaigns.selectors import campaign_get, campaign_list, campaign_progress, delivery_chart

ACTIVE = {CampaignStatus.SCHEDULED, CampaignStatus.SENDING}


@account_required
@require_GET
def campaigns_index(request: HttpRequest) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    page = Paginator(campaign_list(account=account), 25).get_page(request.GET.get("page"))
    rows = [(campaign, campaign_progress(campaign)) for campaign in page]
    return render(
        request,
        "campaigns/campaign_list.html",
        {"page": page, "rows": rows, "section": "campaigns"},
    )


def _detail_context(request: HttpRequest, pk: int) -> dict:
    campaign = campaign_get(account=request.account, pk=pk)  # type: ignore[attr-defined]
    context: dict = {"campaign": campaign, "section": "campaigns"}
    if campaign.is_draft:
        try:
            context["plan"] = plan_campaign(campaign)
        except CampaignError as error:
            context["plan_error"] = error.message
    else:
        context["progress"] = campaign_progress(campaign)
        context["chart"] = delivery_chart(campaign)
        context["live"] = campaign.status in ACTIVE
    return context


@account_required
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = _detail_context(request, pk)
    if request.htmx and not context["campaign"].is_draft:  # type: ignore[attr-defined]
        return render(request, "campaigns/_campaign_progress.html", context)
    return render(request, "campaigns/campaign_detail.html", context)


@account_required
@require_POST
def campaign_launch(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_get(account=request.account, pk=pk)  # type: ignore[attr-defined]
    try:
        plan = launch_campaign(campaign)
    except InsufficientCredits as error:
        messages.error(
            request,
            _(
                "Not launched: this campaign needs %(needed)s credits and the account has "
                "%(available)s. Buy %(missing)s more credits or remove recipients."
            )
            % {
                "needed": error.needed,
                "available": error.available,
                "missing": error.needed - error.available,
            },
        )
    except CampaignError as error:
        messages.error(request, error.message)
    else:
        if plan.french_deferred:
            messages.info(
                request,
                _(
                    "Launched. Outside the legal sending hours: the %(count)s French messages "
                    "will go on %(when)s."
                )
                % {"count": plan.french, "when": _format_moment(request, plan.french_not_before)},
            )
        else:
            messages.success(request, _("Launched."))
    return redirect("campaign-detail", pk=pk)


def _format_moment(request: HttpRequest, moment) -> str:  # type: ignore[no-untyped-def]
    from django.utils import formats, timezone

    zone = timezone.get_current_timezone()
    return formats.date_format(moment.astimezone(zone), "DATETIME_FORMAT")


def _action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    campaign = campaign_get(account=request.account, pk=pk)  # type: ignore[attr-defined]
    try:
        if name == "pause":
            lifecycle.campaign_pause(campaign)
            messages.success(request, _("Paused. No more messages are handed to the gateway."))
        elif name == "resume":
            lifecycle.campaign_resume(campaign)
            messages.success(request, _("Resumed."))
        else:
            _campaign, refunded = lifecycle.campaign_cancel(campaign)
            messages.success(
                request,
                _("Cancelled. %(credits)s credits of unsent messages were refunded.")
                % {"credits": refunded},
            )
    except CampaignError as error:
        messages.error(request, error.message)
    return redirect("campaign-detail", pk=pk)


@account_required
@require_POST
def campaign_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, "pause")


@account_required
@require_POST
def campaign_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, "resume")


@account_required
@require_POST
def campaign_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, "cancel")


@account_required
@require_POST
def campaign_delete(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_get(account=request.account, pk=pk)  # type: ignore[attr-defined]
    if not campaign.is_draft:
        messages.error(request, _("Only a draft can be deleted; a launched campaign is kept."))
        return redirect("campaign-detail", pk=pk)
    campaign.delete()
    messages.success(request, _("Draft deleted."))
    return redirect("campaign-list")


@account_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """What the local gateway would have sent: the whole life of each message."""
    account = request.account  # type: ignore[attr-defined]
    sent = (
        Message.objects.filter(account=account, gateway="local")
        .select_related("campaign")
        .order_by("-sent_at", "-id")
    )
    page = Paginator(sent, 50).get_page(request.GET.get("page"))
    return render(request, "campaigns/outbox.html", {"page": page, "section": "outbox"})
