"""What the inbound, money and hostile-input scenarios share: a fresh account that has
messaged a fresh number, the Celery tasks a run left in the broker, counts.

The scenarios' database outlives a run (FAULTS_DATABASE_URL), so each run makes its
own accounts, numbers and connection names and counts only its own rows.
"""

from __future__ import annotations

import base64
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from faults.base import DATABASE_URL, REDIS_URL

QUEUE = "sms"  # CELERY_TASK_DEFAULT_QUEUE


def stamp() -> str:
    return f"{time.time_ns():x}"


def fresh_number(rng: random.Random | None = None) -> str:
    """A valid French mobile number no earlier run used (most likely: 10^8 of them)."""
    import phonenumbers

    while True:
        number = "+336" + "".join(str((rng or random).randrange(10)) for _ in range(8))
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


@dataclass(frozen=True)
class Shop:
    account: Any
    numbers: list[str]  # numbers its marketing messages reached an hour ago

    @property
    def number(self) -> str:
        return self.numbers[0]


def shop_that_messaged(credits: int, *, name: str = "shop", numbers: int = 1) -> Shop:
    from django.utils import timezone

    from accounts.models import EntryKind
    from accounts.services import account_create, credits_add
    from campaigns.dispatch import _remember_sent
    from campaigns.models import Message, MessageState

    slug = f"faults-{name}-{stamp()}"
    account = account_create(name=slug, slug=slug)
    if credits:
        credits_add(account=account, amount=credits, kind=EntryKind.PURCHASE, reference=slug)
    reached = sorted({fresh_number() for _ in range(numbers)})
    sent = Message.objects.bulk_create(
        Message(
            account=account, phone_number=number, region="FR", text="Soldes STOP 36034",
            segments=1, credits=1, marketing=True, state=MessageState.DELIVERED,
            gateway="local", sent_at=timezone.now() - timezone.timedelta(hours=1),
        )
        for number in reached
    )  # fmt: skip
    _remember_sent([message.pk for message in sent])  # as dispatch does for each batch
    account.refresh_from_db()
    return Shop(account, reached)


def kannel_token(name: str) -> str:
    from blacklist.models import GatewayKind
    from blacklist.services import connection_create

    return connection_create(name=f"{name}-{stamp()}"[:40], kind=GatewayKind.KANNEL)[1]


def queued_tasks(task_name: str) -> list[tuple[bytes, list[Any]]]:
    """The tasks named `task_name` waiting in the broker's queue: (raw message, args)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    found = []
    for raw in client.lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        if message.get("headers", {}).get("task") != task_name:
            continue
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.append((raw, args))
    return found


def drop_tasks(raws: list[bytes]) -> None:
    """Take this run's tasks out of the queue: no worker of a later scenario sends them."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for raw in raws:
        client.lrem(QUEUE, 1, raw)


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


__all__ = ["DATABASE_URL", "REDIS_URL"]
