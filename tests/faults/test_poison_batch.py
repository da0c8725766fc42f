"""Issue 7 item 4 with real parts: a batch that keeps crashing, in a real `celery worker`
(prefork) with beat's tick, on Redis and PostgreSQL. The poisonous message is retried a
bounded number of times, then parked and shown to support staff; the rest of the
campaign goes out once each; nothing loops afterwards.

Two kinds of crash (tests/faults/poison_worker.py): the client raises before the chunk
leaves (dispatch gives the claim back at once), or the worker process dies on it (the
claim stays behind and the tick's sweeper takes it back after SMS_CLAIM_TIMEOUT).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kombu.pools
import pytest
import redis
from django.conf import settings as django_settings
from django.urls import reverse

from campaigns.launch import launch_campaign
from campaigns.lifecycle import campaign_create
from campaigns.models import Campaign, CampaignStatus, Contact, Message, MessageState
from smsplatform.celery import app
from tests.builders import make_account
from tests.conftest import REDIS_TEST_URL
from tests.e2e.test_celery_workers import database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

REPO = Path(__file__).resolve().parents[2]
RECIPIENTS = 60
POISON = "+447400900017"
MAX_ATTEMPTS = 3


def wait_until(check: Callable[[], Any], timeout: float, worker: subprocess.Popen) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return result


def fresh_broker_pools() -> None:
    """Close this process's broker connections and forget the pools (kombu keeps them
    in a registry): the next task sent opens new ones on the current broker URL."""
    app.pool.force_close_all()
    kombu.pools.reset()
    app._after_fork()


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("kind", ["raise", "die"])
def test_a_poisonous_message_is_parked_after_bounded_retries_and_the_rest_is_sent_once(
    kind: str, tmp_path: Path, admin_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    # Local gateway without simulated reports: the worker's log files are the carrier.
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": REDIS_TEST_URL,
        "DEBUG": "true",
        "SMS_GATEWAY": "local",
        "SMS_LOCAL_REPORTS": "false",
        "SMS_DISPATCH_BATCH": "20",
        "SMS_DISPATCH_SUBMIT_CHUNK": "10",
        "SMS_DISPATCH_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "SMS_TICK_SECONDS": "1",
        "SMS_CLAIM_TIMEOUT": "5",
        "POISON_NUMBER": POISON,
        "POISON_KIND": kind,
    }
    monkeypatch.setitem(django_settings.DATABASES["default"], "CONN_MAX_AGE", 0)
    account = make_account(slug="shop", credits=1000)
    numbers = [f"+4474009000{n:02d}" for n in range(RECIPIENTS)]
    assert POISON in numbers
    Contact.objects.bulk_create(
        Contact(account=account, phone_number=number, region="GB") for number in numbers
    )
    campaign = campaign_create(account=account, name="Hiver", text="Soldes", all_contacts=True)

    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "faults" / "poison_worker.py"), str(tmp_path)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = REDIS_TEST_URL, False
    fresh_broker_pools()  # another test may have closed them
    monkeypatch.setattr(django_settings, "CELERY_TASK_ALWAYS_EAGER", False)
    try:
        assert wait_until(lambda: "ready." in (tmp_path / "worker.log").read_text(), 30, worker), (
            tmp_path / "worker.log"
        ).read_text()
        launch_campaign(campaign)  # commits: the dispatch tasks go to Redis

        def settled() -> bool:
            rows = Message.objects.filter(campaign=campaign)
            states = Counter(rows.values_list("state", flat=True))
            return states == {MessageState.SENT: RECIPIENTS - 1, MessageState.PARKED: 1}

        assert wait_until(settled, 120, worker), (
            Counter(Message.objects.filter(campaign=campaign).values_list("state", flat=True)),
            (tmp_path / "worker.log").read_text()[-3000:],
        )
        # A few more ticks: a parked message is never claimed again.
        time.sleep(4)
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        fresh_broker_pools()
        os.killpg(worker.pid, 15)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, 9)
        log.close()

    parked = Message.objects.get(campaign=campaign, phone_number=POISON)
    crashes = lines(tmp_path / "crashes")
    assert len(crashes) == MAX_ATTEMPTS == parked.attempts, crashes
    assert parked.state == MessageState.PARKED
    assert parked.error.startswith(f"parked after {MAX_ATTEMPTS} failed attempts")
    submitted = Counter(int(line) for line in lines(tmp_path / "submitted"))
    others = set(
        Message.objects.filter(campaign=campaign).exclude(pk=parked.pk).values_list("pk", flat=True)
    )
    assert set(submitted) == others  # every other message reached the carrier...
    assert set(submitted.values()) == {1}  # ...once, and the poison never did
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED

    # Support staff see it, with the reason, among the messages that need a decision.
    page = admin_client.get(reverse("admin:campaigns_message_changelist"), {"decision": "parked"})
    assert POISON in page.content.decode()
