"""The compose page, its live preview and the JSON preview endpoint."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import account_required
from accounts.selectors import rates_table
from campaigns.forms import ComposeForm
from campaigns.lifecycle import campaign_create
from campaigns.phone import InvalidNumber, normalize_number
from campaigns.preview import (
    RecipientCount,
    build_preview,
    compose_one,
    composition_json,
    count_recipients,
)
from campaigns.text import replace_non_gsm

REPLACE_ALL = "*"


def _compose_context(request: HttpRequest) -> dict[str, Any]:
    account = request.account  # type: ignore[attr-defined]
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None and "replace" in data:
        # One click on a replacement: the same text with that character (or all) replaced.
        chosen = data["replace"]
        data["text"] = replace_non_gsm(
            data.get("text", ""), None if chosen == REPLACE_ALL else {chosen}
        )
    form = ComposeForm(data, account=account)
    if form.is_bound and form.is_valid():
        text = form.cleaned_data["text"]
        recipients = count_recipients(
            account,
            numbers=form.cleaned_data["recipients"],
            all_contacts=form.cleaned_data["all_contacts"],
            lists=form.cleaned_data["lists"],
        )
    else:
        # Keep previewing the text while another field (a number, the sender) is wrong.
        text = (data or {}).get("text", "").replace("\r\n", "\n")[: ComposeForm.max_text_length]
        recipients = RecipientCount()
    preview = build_preview(
        account, text, requested=form.requested_mention(), recipients=recipients
    )
    return {"form": form, "preview": preview, "section": "compose", "replace_all": REPLACE_ALL}


@account_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    """The page. As the user types, htmx posts here and gets the right-hand panel only;
    without JavaScript the Preview button posts here and gets the whole page. A
    replacement button gets the whole page too: it changes the text area as well.
    "Save and review" saves a draft campaign and opens its review page."""
    context = _compose_context(request)
    form = context["form"]
    if request.method == "POST" and request.POST.get("action") == "save" and form.is_valid():
        form.clean_for_campaign()
        if form.is_valid():
            data = form.cleaned_data
            campaign = campaign_create(
                account=request.account,  # type: ignore[attr-defined]
                name=data["name"].strip(),
                text=data["text"],
                sender_id=data["sender_id"],
                lists=data["lists"],
                all_contacts=data["all_contacts"],
                numbers=data["recipients"],
                add_stop_mention=form.requested_mention(),
                scheduled_at=data["send_at"],
                created_by=request.user,
                form_token=data["form_token"],
            )
            return redirect("campaign-detail", pk=campaign.pk)
    partial = request.htmx and "replace" not in request.POST  # type: ignore[attr-defined]
    template = "campaigns/_compose_preview.html" if partial else "campaigns/compose.html"
    return render(request, template, context)


def _payload(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return {"_error": _("The body is not valid JSON.")}
        return body if isinstance(body, dict) else {"_error": _("The body must be a JSON object.")}
    data: dict[str, Any] = {key: request.POST.get(key) for key in request.POST}
    data["to"] = request.POST.getlist("to")
    return data


def _as_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "on", "yes"}


@account_required
@require_POST
def preview_json(request: HttpRequest) -> JsonResponse:
    """POST text, to (one number or a list) and add_stop_mention: what each one receives.

    Same rules as the page: a Marketing account's messages carry the mention whatever
    `add_stop_mention` says (the response's `add_stop_mention` tells what applied).
    """
    account = request.account  # type: ignore[attr-defined]
    data = _payload(request)
    if "_error" in data:
        return JsonResponse({"errors": {"body": [data["_error"]]}}, status=400)
    errors: dict[str, list[str]] = {}
    text = data.get("text")
    if not isinstance(text, str):
        errors["text"] = [_("Give the message text.")]
    elif len(text) > ComposeForm.max_text_length:
        errors["text"] = [
            _("The text has %(count)d characters: at most %(max)d.")
            % {"count": len(text), "max": ComposeForm.max_text_length}
        ]
    targets = data.get("to") or []
    if isinstance(targets, str):
        targets = [targets]
    if not targets:
        errors["to"] = [_("Give at least one phone number.")]
    numbers = []
    for raw in targets:
        try:
            numbers.append(normalize_number(str(raw)))
        except InvalidNumber as error:
            errors.setdefault("to", []).append(f"{raw}: {error.message}")
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    requested = _as_bool(data.get("add_stop_mention"))
    rates = rates_table()
    messages = [
        composition_json(
            compose_one(account, text, region=number.region, requested=requested, rates=rates),
            to=number.e164,
            region=number.region,
        )
        for number in numbers
    ]
    total = sum(message["credits"] for message in messages)
    return JsonResponse(
        {
            "messages": messages,
            "credits": total,
            "balance": account.credit_balance,
            "enough_credits": total <= account.credit_balance,
            "add_stop_mention": bool(messages[0]["mention"]),
        }
    )
