"""The API page's callback section: add a URL (its secret shown once), remove one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import account_required, is_owner
from accounts.views import render_api_page
from callbacks import selectors, services
from callbacks.forms import CallbackForm


@require_POST
@account_required
def callback_add(request: HttpRequest) -> HttpResponse:
    if not is_owner(request):
        messages.error(request, _("Only the account's owners can change the callbacks."))
        return redirect("api-page")
    form = CallbackForm(request.POST)
    if not form.is_valid():
        return render_api_page(request, callback_form=form)
    try:
        endpoint, secret = services.callback_create(
            account=request.account,  # type: ignore[attr-defined]
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            created_by=request.user,
        )
    except services.CallbackRefused as error:
        form.add_error(error.details.get("field"), error.message)
        return render_api_page(request, callback_form=form)
    return render_api_page(request, new_callback=endpoint, new_callback_secret=secret)


@require_POST
@account_required
def callback_remove(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = selectors.callback_get(account=request.account, pk=pk)  # type: ignore[attr-defined]
    if not is_owner(request):
        messages.error(request, _("Only the account's owners can change the callbacks."))
    else:
        services.callback_delete(endpoint=endpoint)
        messages.success(request, _("Callback URL removed."))
    return redirect("api-page")
