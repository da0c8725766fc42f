"""The callback task: one event to one endpoint, retried with exponential backoff."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings


def backoff(retries: int) -> int:
    """Seconds before retry number `retries + 1`: 30 s, 1 min, 2 min, … at most an hour
    (under the broker's visibility timeout, so no far-future task is held)."""
    return int(min(settings.SMS_CALLBACK_BACKOFF_SECONDS * 2**retries, 3600))


@shared_task(bind=True, name="callbacks.deliver", max_retries=None)
def deliver_callback(self: Any, endpoint_id: int, body: str) -> bool:
    from callbacks.services import callback_deliver

    outcome = callback_deliver(endpoint_id=endpoint_id, body=body)
    retries = self.request.retries
    if outcome.retry and retries < settings.SMS_CALLBACK_RETRIES:
        if self.request.is_eager:
            # No worker to come back later (the embedded default, tests): try again now.
            again = deliver_callback.apply(args=(endpoint_id, body), retries=retries + 1)
            return bool(again.get())
        raise self.retry(countdown=backoff(retries))
    return outcome.delivered
