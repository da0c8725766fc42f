from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.selectors import memberships_for_user


def current_account(request: HttpRequest) -> dict[str, Any]:
    """The account the page acts for (set by `account_required`) and the user's others."""
    account = getattr(request, "account", None)
    if account is None:
        return {"current_account": None, "account_choices": []}
    return {
        "current_account": account,
        "account_choices": list(memberships_for_user(user=request.user)),
        # The Outbox shows what the local gateway recorded: only useful when it sends.
        "local_gateway": settings.SMS_GATEWAY == "local",
    }
