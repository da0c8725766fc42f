"""Customer-area pages of the accounts app: dashboard, settings, account switch."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordResetView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from accounts import selectors, services
from accounts.access import SESSION_KEY, account_required, is_owner
from accounts.errors import StopMentionRequired
from accounts.forms import AccountSwitchForm, AlertsForm, ApiKeyForm, ProfileForm


def _limited(request: HttpRequest, group: str, field: str, rates: tuple[str, str]) -> bool:
    """Count this POST per client address and per value of `field` (a username, an
    email); True once either is over its rate. Both counts are atomic increments in the
    shared cache (Redis), so concurrent requests cannot slip past the limit; both always
    count, so that the answer does not tell whether the username or email exists."""
    value = request.POST.get(field, "").strip().lower()[:254]
    by_address = is_ratelimited(
        request, group=f"{group}-ip", key="ip", rate=rates[0], method="POST", increment=True
    )
    by_value = is_ratelimited(
        request,
        group=f"{group}-{field}",
        key=lambda _group, _request: value,
        rate=rates[1],
        method="POST",
        increment=True,
    )
    return by_address or by_value


def _attempt_limited(request: HttpRequest) -> bool:
    rates = (settings.SMS_LOGIN_RATE_IP, settings.SMS_LOGIN_RATE_USERNAME)
    return _limited(request, "login", "username", rates)


class Login(LoginView):
    """Django's login page, with attempts limited per client address and per username
    (SMS_LOGIN_RATE_IP, SMS_LOGIN_RATE_USERNAME): a password cannot be found by trying
    many, from one address or from many. Over the limit, the password is not even
    checked: 429 and a message saying to wait."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if _attempt_limited(request):
            context = self.get_context_data(form=self.get_form(), limited=True)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)


class PasswordReset(PasswordResetView):
    """Django's password-reset form, with requests limited per client address and per
    email (SMS_PASSWORD_RESET_RATE_IP, SMS_PASSWORD_RESET_RATE_EMAIL): each request may
    send an email, so no mailbox can be flooded from here. Over the limit: 429 and a
    message saying to wait, whether the address has an account or not."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        rates = (settings.SMS_PASSWORD_RESET_RATE_IP, settings.SMS_PASSWORD_RESET_RATE_EMAIL)
        if _limited(request, "password-reset", "email", rates):
            context = self.get_context_data(form=self.get_form(), limited=True)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)


@account_required
def dashboard(request: HttpRequest) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/dashboard.html",
        {"entries": selectors.ledger_recent(account=account, limit=10), "section": "dashboard"},
    )


@account_required
def settings_profile(request: HttpRequest) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    form = ProfileForm(
        request.POST if request.method == "POST" else None,
        initial={"default_sender_id": account.default_sender_id, "timezone": account.timezone},
    )
    if request.method == "POST":
        if not is_owner(request):
            messages.error(request, _("Only the account's owners can change its settings."))
        elif form.is_valid():
            services.account_update_profile(
                account=account,
                default_sender_id=form.cleaned_data["default_sender_id"],
                timezone=form.cleaned_data["timezone"],
            )
            messages.success(request, _("Settings saved."))
            return redirect("settings")
    return render(
        request,
        "accounts/settings_profile.html",
        {"form": form, "section": "settings", "tab": "profile", "can_edit": is_owner(request)},
    )


@account_required
def settings_alerts(request: HttpRequest) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    form = AlertsForm(request.POST if request.method == "POST" else None, account=account)
    if request.method == "POST":
        if not is_owner(request):
            messages.error(request, _("Only the account's owners can change its settings."))
        elif form.is_valid():
            try:
                services.account_set_stop_mention(
                    account=account,
                    enabled=form.cleaned_data["add_stop_mention"],
                    actor=request.user,
                )
            except StopMentionRequired as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Alert settings saved."))
            return redirect("settings-alerts")
    return render(
        request,
        "accounts/settings_alerts.html",
        {"form": form, "section": "settings", "tab": "alerts", "can_edit": is_owner(request)},
    )


@require_POST
@login_required
def switch_account(request: HttpRequest) -> HttpResponse:
    form = AccountSwitchForm(request.POST)
    if not form.is_valid():
        raise Http404
    membership = (
        selectors.memberships_for_user(user=request.user)
        .filter(account_id=form.cleaned_data["account"])
        .first()
    )
    if membership is None:
        raise Http404
    request.session[SESSION_KEY] = membership.account_id
    return redirect("dashboard")


def render_api_page(request: HttpRequest, **context: object) -> HttpResponse:
    """The API page: keys, callback URLs with their last result, the docs' links."""
    from callbacks.forms import CallbackForm
    from callbacks.selectors import callback_list

    account = request.account  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/api.html",
        {
            "keys": selectors.api_key_list(account=account),
            "form": context.pop("form", None) or ApiKeyForm(),
            "callbacks": callback_list(account=account),
            "callback_form": context.pop("callback_form", None) or CallbackForm(),
            "can_edit": is_owner(request),
            "section": "api",
            **context,
        },
    )


@account_required
def api_page(request: HttpRequest) -> HttpResponse:
    """The API page: keys (created and revoked by owners) and the documentation's links.

    A new key is shown in the answer to the POST that created it, never stored nor put
    in the session: reloading the page does not show it again.
    """
    if request.method != "POST":
        return render_api_page(request)
    if not is_owner(request):
        messages.error(request, _("Only the account's owners can create or revoke API keys."))
        return redirect("api-page")
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return render_api_page(request, form=form)
    key, raw = services.api_key_create(
        account=request.account,  # type: ignore[attr-defined]
        name=form.cleaned_data["name"],
        created_by=request.user,
    )
    return render_api_page(request, new_key=key, new_secret=raw)


@require_POST
@account_required
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(
        selectors.api_key_list(account=request.account),  # type: ignore[attr-defined]
        pk=pk,
    )
    if not is_owner(request):
        messages.error(request, _("Only the account's owners can create or revoke API keys."))
    else:
        services.api_key_revoke(key=key, actor=request.user)
        messages.success(
            request, _("Key “%(name)s” revoked: it is refused from now on.") % {"name": key.name}
        )
    return redirect("api-page")
