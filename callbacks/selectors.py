"""Which accounts listen to which event, known without a query on the hot paths.

Delivery reports and replies arrive by the thousand per second; most accounts register
no callback. The map {event: {account id: endpoint ids}} of the active endpoints is
read once per SMS_CALLBACK_REFRESH_SECONDS per process (one small query) and dropped
at once in the process that changes an endpoint. Another process sees a change within
that many seconds: an event in between reaches the old set of endpoints (a deleted
endpoint is skipped when its call runs).
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Account
from callbacks.models import CallbackEndpoint

_lock = threading.Lock()
_cache: dict[str, object] = {"at": float("-inf"), "map": {}}


def listeners(event: str, account_id: int | None) -> tuple[int, ...]:
    """The active endpoints of `account_id` for `event` (usually none: no query)."""
    if account_id is None:
        return ()
    now = time.monotonic()
    if now - float(_cache["at"]) > settings.SMS_CALLBACK_REFRESH_SECONDS:  # type: ignore[arg-type]
        with _lock:
            fresh: dict[str, dict[int, tuple[int, ...]]] = {}
            for pk, owner, events in CallbackEndpoint.objects.filter(active=True).values_list(
                "pk", "account_id", "events"
            ):
                for name in events:
                    fresh.setdefault(name, {})
                    fresh[name][owner] = (*fresh[name].get(owner, ()), pk)
            _cache["map"], _cache["at"] = fresh, now
    mapping: dict[str, dict[int, tuple[int, ...]]] = _cache["map"]  # type: ignore[assignment]
    return mapping.get(event, {}).get(account_id, ())


def forget() -> None:
    """Drop the map: the next event reads the endpoints again."""
    _cache["at"] = float("-inf")


def callback_list(*, account: Account) -> QuerySet[CallbackEndpoint]:
    return CallbackEndpoint.objects.filter(account=account)


def callback_get(*, account: Account, pk: int) -> CallbackEndpoint:
    return get_object_or_404(CallbackEndpoint, account=account, pk=pk)
