"""Who may call the API: a key's account, or a logged-in member of an account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:  # DRF imports these modules while it loads its views
    from rest_framework.views import APIView

from accounts.access import resolve_account
from accounts.models import Account, ApiKey, Role


def account_for(request: Request) -> Account | None:
    """The key's account, or the account chosen in the browser session."""
    if isinstance(request.auth, ApiKey):
        return request.auth.account
    if request.user and request.user.is_authenticated:
        return resolve_account(request)
    return None


class HasAccount(BasePermission):
    """The request acts for an account: a key's, or one the logged-in user belongs to.

    Sets `request.account`, which every endpoint scopes its reads and writes with.
    """

    message = _("This user belongs to no account.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        account = account_for(request)
        if account is None:
            return False
        request.account = account  # type: ignore[attr-defined]
        return True


def is_owner(request: Request) -> bool:
    """Owners may change what the account's keys and callbacks are (members read)."""
    if isinstance(request.auth, ApiKey):
        return True  # a key acts for the account; creating one already took an owner
    account: Any = getattr(request, "account", None)
    return bool(
        account is not None
        and account.memberships.filter(user=request.user, role=Role.OWNER).exists()
    )
