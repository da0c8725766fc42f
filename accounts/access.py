"""Which account a request acts for. Every customer-area view goes through
`account_required`, which sets `request.account`; selectors then scope by it."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Account, Role

SESSION_KEY = "current_account_id"

View = Callable[..., HttpResponse]


def resolve_account(request: HttpRequest) -> Account | None:
    """The account chosen in the session if the user still belongs to it, else the first."""
    user = request.user
    if not user.is_authenticated:
        return None
    accounts = Account.objects.filter(memberships__user=user).order_by("name")
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        account = accounts.filter(pk=chosen).first()
        if account is not None:
            return account
    return accounts.first()


def account_required(view: View) -> View:
    """Log-in required, and the user must belong to an account; sets `request.account`."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = resolve_account(request)
        if account is None:
            return render(request, "accounts/no_account.html", status=403)
        request.account = account  # type: ignore[attr-defined]
        request.account_role = (  # type: ignore[attr-defined]
            account.memberships.filter(user=request.user).values_list("role", flat=True).first()
        )
        # Dates and times on the account's pages read in the account's time zone.
        with timezone.override(zoneinfo.ZoneInfo(account.timezone)):
            return view(request, *args, **kwargs)

    return wrapper


def is_owner(request: HttpRequest) -> bool:
    return getattr(request, "account_role", None) == Role.OWNER
