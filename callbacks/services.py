"""Customer callbacks: registering URLs, emitting events, delivering them signed.

Emitting happens inside the platform's own transactions (a delivery report, a reply):
`emit` only queues a task, once that transaction commits, and only for accounts with
an active endpoint for the event (`selectors.listeners`, no query on the hot path).
The task makes the HTTP call, outside any transaction, and records the outcome on the
endpoint; it retries with exponential backoff (callbacks/tasks.py). Delivery is at
least once: a receiver dedupes on the event's `id`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from blacklist.signing import seal, sign, unseal
from callbacks import selectors
from callbacks.models import CallbackEndpoint, CallbackEvent
from smsplatform.errors import DomainError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
USER_AGENT = "smsplatform-callbacks/1"


class CallbackRefused(DomainError):
    code = "invalid_callback"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, **details)


def _clean(url: str, events: list[str]) -> tuple[str, list[str]]:
    url = url.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise CallbackRefused(_("Give an http:// or https:// URL."), field="url") from None
    chosen = list(dict.fromkeys(events))
    if not chosen or any(event not in CallbackEvent.values for event in chosen):
        raise CallbackRefused(
            _("Choose the events: %(events)s.") % {"events": ", ".join(CallbackEvent.values)},
            field="events",
        )
    return url, chosen


def _changed() -> None:
    # This process reads the endpoints again (now, and once the change is committed, so
    # that no read in between keeps the old state); the others within seconds.
    selectors.forget()
    transaction.on_commit(selectors.forget)


def callback_create(
    *, account: Account, url: str, events: list[str], created_by: Any = None
) -> tuple[CallbackEndpoint, str]:
    """Register a URL for `events`; returns it and its signing secret (shown once)."""
    url, events = _clean(url, events)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = CallbackEndpoint.objects.create(
            account=account,
            url=url,
            events=events,
            signing_secret=seal(secret),
            secret_hint=secret[:10][-4:],
            created_by=created_by,
        )
        _changed()
    return endpoint, secret


def callback_update(
    *,
    endpoint: CallbackEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> CallbackEndpoint:
    url, events = _clean(
        endpoint.url if url is None else url, endpoint.events if events is None else events
    )
    with transaction.atomic():
        endpoint.url, endpoint.events = url, events
        if active is not None:
            endpoint.active = active
        endpoint.save(update_fields=["url", "events", "active"])
        _changed()
    return endpoint


def callback_delete(*, endpoint: CallbackEndpoint) -> None:
    with transaction.atomic():
        endpoint.delete()
        _changed()


# -- emitting -------------------------------------------------------------------------------


def emit(*, event: str, account_id: int | None, data: dict[str, Any]) -> int:
    """Queue `event` for the account's endpoints once the current transaction commits.

    Costs nothing for an account without an endpoint for it. Returns the calls queued.
    """
    endpoints = selectors.listeners(event, account_id)
    if not endpoints:
        return 0
    from callbacks.tasks import deliver_callback
    from smsplatform.tasks import enqueue

    body = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "type": event,
            "created_at": timezone.now().isoformat(),
            "data": data,
        },
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
    )
    for endpoint_id in endpoints:
        enqueue(deliver_callback, endpoint_id, body)
    return len(endpoints)


def emit_message_status(*, message: Any, status: str, report: str, at: datetime) -> int:
    """A message reached a final delivery status (delivered or failed)."""
    return emit(
        event=CallbackEvent.MESSAGE_STATUS,
        account_id=message.account_id,
        data={
            "message_id": message.pk,
            "campaign_id": message.campaign_id,
            "to": message.phone_number,
            "status": status,
            "report": report,
            "at": at,
        },
    )


def emit_inbound(
    *,
    inbound_id: int,
    account_id: int,
    sender: str,
    receiver: str,
    text: str,
    intent: str,
    outcome: str,
    campaign_id: int | None,
    message_id: int | None,
    received_at: datetime,
) -> int:
    """A reply attributed to an account: a STOP, a START, a question, anything."""
    return emit(
        event=CallbackEvent.INBOUND,
        account_id=account_id,
        data={
            "inbound_id": inbound_id,
            "from": sender,
            "to": receiver,
            "text": text,
            "intent": intent,
            "outcome": outcome,
            "campaign_id": campaign_id,
            "message_id": message_id,
            "received_at": received_at,
        },
    )


# -- delivering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retry: bool
    status: int | None = None
    error: str = ""


def _private(host: str) -> bool:
    """True when `host` resolves to an address the platform itself lives among
    (loopback, private ranges, link-local): a customer's URL must not reach them."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the call fails on its own, with the reason
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
        ):
            return True
    return False


def callback_deliver(*, endpoint_id: int, body: str) -> Outcome:
    """POST one event to one endpoint, signed, and record how it went on the endpoint.

    No transaction is open during the call. A missing or inactive endpoint is skipped
    (deleted or paused since the event). A 2xx is delivered; anything else is worth a
    retry, except a URL refused before any call.
    """
    endpoint = CallbackEndpoint.objects.filter(pk=endpoint_id, active=True).first()
    if endpoint is None:
        return Outcome(delivered=False, retry=False, error="endpoint gone or paused")
    secret = unseal(endpoint.signing_secret)
    if secret is None:
        return _record(endpoint, Outcome(False, False, None, "signing secret unreadable"))
    host = urlsplit(endpoint.url).hostname or ""
    if not settings.SMS_CALLBACK_ALLOW_PRIVATE and _private(host):
        return _record(endpoint, Outcome(False, False, None, "refused: a private address"))
    timestamp = str(int(time.time()))
    payload = body.encode()
    event = json.loads(body)
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked at registration
        endpoint.url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Event-Id": event["id"],
            "X-Event-Type": event["type"],
            "X-Signature-Timestamp": timestamp,
            "X-Signature": sign(secret, timestamp, payload),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        outcome = Outcome(False, True, error.code, f"HTTP {error.code} {error.reason}"[:255])
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        outcome = Outcome(False, True, None, f"no answer: {reason}"[:255])
    else:
        ok = 200 <= status < 300
        outcome = Outcome(ok, not ok, status, "" if ok else f"HTTP {status}")
    return _record(endpoint, outcome)


def _record(endpoint: CallbackEndpoint, outcome: Outcome) -> Outcome:
    CallbackEndpoint.objects.filter(pk=endpoint.pk).update(
        last_status=outcome.status, last_at=timezone.now(), last_error=outcome.error
    )
    if not outcome.delivered:
        log.warning("callback %s to %s: %s", endpoint.pk, endpoint.url, outcome.error)
    return outcome
