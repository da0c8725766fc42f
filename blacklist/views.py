"""The customer area's Blacklist: list, search and filters, CSV export, manual add
(one number or a CSV file), removal of manual entries with a reason."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import account_required
from blacklist import selectors
from blacklist.export import export_response
from blacklist.forms import BlacklistAddForm, BlacklistFilterForm, RemoveForm
from blacklist.models import BlacklistSource
from blacklist.services import (
    REMOVABLE_SOURCES,
    NotRemovable,
    blacklist_numbers,
    blacklist_remove,
)

PER_PAGE = 50
ADD_CHUNK = 1000  # numbers per set-based call: a few statements each


def _filters(request: HttpRequest) -> tuple[BlacklistFilterForm, selectors.BlacklistFilter]:
    form = BlacklistFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        return form, selectors.BlacklistFilter(
            search=data["q"], source=data["source"], since=data["since"], until=data["until"]
        )
    return form, selectors.BlacklistFilter()


@account_required
def blacklist_index(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    entries = selectors.blacklist_list(account=request.account, filters=filters)  # type: ignore[attr-defined]
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "blacklist/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "filtered": any(request.GET.get(name) for name in ("q", "source", "since", "until")),
            "removable": REMOVABLE_SOURCES,
            "section": "blacklist",
        },
    )


@account_required
def blacklist_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, filters = _filters(request)
    entries = selectors.blacklist_list(account=request.account, filters=filters)  # type: ignore[attr-defined]
    return export_response(entries)


@account_required
def blacklist_add(request: HttpRequest) -> HttpResponse:
    form = BlacklistAddForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        numbers, errors = form.numbers()
        added = 0
        for start in range(0, len(numbers), ADD_CHUNK):
            # No confirmation SMS: the numbers' owners did not write to us.
            added += len(
                blacklist_numbers(
                    account=request.account,  # type: ignore[attr-defined]
                    numbers=numbers[start : start + ADD_CHUNK],
                    source=BlacklistSource.MANUAL,
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
            )
        already = len(numbers) - added
        messages.success(
            request,
            ngettext(
                "%(count)d number added to the Blacklist.",
                "%(count)d numbers added to the Blacklist.",
                added,
            )
            % {"count": added}
            + (
                " "
                + ngettext("%(count)d was already there.", "%(count)d were already there.", already)
                % {"count": already}
                if already
                else ""
            ),
        )
        if not errors:
            return redirect("blacklist")
    return render(
        request, "blacklist/add.html", {"form": form, "errors": errors, "section": "blacklist"}
    )


@account_required
def blacklist_entry_remove(request: HttpRequest, pk: int) -> HttpResponse:
    entry = selectors.blacklist_get(account=request.account, pk=pk)  # type: ignore[attr-defined]
    history = selectors.blacklist_history(account=request.account, phone_number=entry.phone_number)  # type: ignore[attr-defined]
    form = RemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            blacklist_remove(entry=entry, actor=request.user, reason=form.cleaned_data["reason"])
        except NotRemovable as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("%(number)s removed from the Blacklist.") % {"number": entry.phone_number},
            )
            return redirect("blacklist")
    return render(
        request,
        "blacklist/remove.html",
        {
            "entry": entry,
            "form": form,
            "history": history,
            "removable": entry.source in REMOVABLE_SOURCES,
            "section": "blacklist",
        },
    )


@account_required
def inbox(request: HttpRequest) -> HttpResponse:
    from blacklist.models import InboundStatus

    status = request.GET.get("status", "")
    replies = selectors.inbox(account=request.account, status=status)  # type: ignore[attr-defined]
    page = Paginator(replies, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "blacklist/inbox.html",
        {
            "page": page,
            "status": status,
            "query": urlencode({"status": status}) if status else "",
            "statuses": [
                (value, label)
                for value, label in InboundStatus.choices
                if value not in {InboundStatus.UNATTRIBUTED, InboundStatus.UNKNOWN_SENDER}
            ],
            "section": "inbox",
        },
    )
