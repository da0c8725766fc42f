"""Throttling per API key (a browser session: per user), rates from settings.

DRF keeps each key's recent request times in the Django cache: Redis when one is
configured, so every web process shares the count. The read-modify-write is not atomic,
so two processes can each let one request through at the limit: a few requests of
slack, accepted rather than a lock per call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.request import Request

if TYPE_CHECKING:  # DRF imports these modules while it loads its views
    from rest_framework.views import APIView
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiKey


class _PerKey(SimpleRateThrottle):
    setting = ""

    def get_rate(self) -> str:
        return str(getattr(settings, self.setting))

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"


class PerKeyThrottle(_PerKey):
    """Every call of a key (SMS_API_RATE)."""

    scope = "api"
    setting = "SMS_API_RATE"


class SendThrottle(_PerKey):
    """Calls that send or launch (SMS_API_SEND_RATE), on top of the general rate."""

    scope = "api_send"
    setting = "SMS_API_SEND_RATE"
