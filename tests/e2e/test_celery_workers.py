"""Real Celery workers on Redis, through a real Kannel: a campaign launched here is
dispatched by two prefork worker processes (plus duplicated dispatch tasks), each
message reaches fakesmsc exactly once, Kannel's reports come back, and a STOP arriving
through the inbound webhook gets its confirmation SMS sent by a worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.urls import reverse

from blacklist.models import BlacklistEntry, GatewayKind
from blacklist.services import connection_create
from campaigns.launch import launch_campaign
from campaigns.lifecycle import campaign_create
from campaigns.models import Campaign, CampaignStatus, Contact, Message, MessageState
from campaigns.tasks import dispatch_campaign
from smsplatform.celery import app
from tests.builders import make_account
from tests.conftest import REDIS_TEST_URL
from tests.kannel_harness import KannelRun, running_kannel

pytestmark = [
    pytest.mark.kannel,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

REPO = Path(__file__).resolve().parents[2]
SECRET = "workers-report-secret"
RECIPIENTS = 300


def database_url() -> str:
    db = django_settings.DATABASES["default"]  # the test database pytest-django made
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def kannel(tmp_path: Path) -> Iterator[KannelRun]:
    with running_kannel(tmp_path / "kannel") as run:
        yield run


@pytest.fixture
def workers(
    kannel: KannelRun,
    live_server: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """`celery worker` (2 prefork processes) on the test Redis and database; this
    process sends its tasks there too."""
    # The live server answers Kannel's 600 report calls with a thread each: a kept-alive
    # database connection per thread would outlive it (gunicorn's workers do not).
    monkeypatch.setitem(django_settings.DATABASES["default"], "CONN_MAX_AGE", 0)
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": REDIS_TEST_URL,
        "DEBUG": "true",
        "SMS_GATEWAY": "kannel",
        "KANNEL_SENDSMS_URL": kannel.sendsms_url,
        "KANNEL_USERNAME": kannel.username,
        "KANNEL_PASSWORD": kannel.password,
        "KANNEL_REPORT_SECRET": SECRET,
        "SMS_PUBLIC_URL": live_server.url,
        "SMS_DISPATCH_BATCH": "20",  # many batches for the workers to share
        "SMS_DISPATCH_PARALLEL": "2",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "smsplatform", "worker", "-Q", "sms",
         "-c", "2", "-P", "prefork", "-l", "info", "--without-gossip", "--without-mingle"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.SMS_DISPATCH_PARALLEL = 2
    settings.KANNEL_REPORT_SECRET = SECRET
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = REDIS_TEST_URL, False
    try:
        deadline = time.monotonic() + 30
        while "ready." not in (tmp_path / "worker.log").read_text():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker did not start in 30 s"
            time.sleep(0.2)
        yield worker
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        app.pool.force_close_all()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def wait_until(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return result


def test_workers_send_each_message_once_and_a_stop_is_confirmed(
    workers: Any, kannel: KannelRun, live_server: Any, client: Any
) -> None:
    # A Marketing account (STOPs are attributed to marketing messages) writing to
    # British numbers: no French sending hours, so the test runs at any hour.
    account = make_account(slug="shop", credits=1000)
    Contact.objects.bulk_create(
        Contact(account=account, phone_number=f"+447400{n:06d}", region="GB")
        for n in range(RECIPIENTS)
    )
    campaign = campaign_create(
        account=account, name="Hiver", text="Soldes d'hiver -30%", all_contacts=True,
        sender_id="BOUTIQUE", add_stop_mention=True,
    )  # fmt: skip

    launch_campaign(campaign)  # commits: two dispatch tasks go to Redis
    dispatch_campaign.delay(campaign.pk)  # and two duplicates, as a retried task would
    dispatch_campaign.delay(campaign.pk)

    received = kannel.wait_received(RECIPIENTS, timeout=60)
    time.sleep(1)  # anything sent twice would show up now
    received = kannel.received()
    per_number = Counter(sms.receiver for sms in received)
    assert len(per_number) == RECIPIENTS
    assert set(per_number.values()) == {1}, "a message reached the carrier twice"
    assert {sms.text for sms in received} == {f"Soldes d'hiver -30% {account.unsubscribe_link}"}

    def delivered() -> bool:
        states = Counter(Message.objects.filter(campaign=campaign).values_list("state", flat=True))
        return states == {MessageState.DELIVERED: RECIPIENTS}

    if not wait_until(delivered):
        from campaigns.models import DeliveryReport

        stuck = Message.objects.filter(campaign=campaign).exclude(state=MessageState.DELIVERED)
        detail = [
            (m.pk, m.state, m.report, m.sent_at, m.claimed_at,
             list(DeliveryReport.objects.filter(message_ref=str(m.pk)).values_list(
                 "status", "received_at", "message_id")))
            for m in stuck[:5]
        ]  # fmt: skip
        pytest.fail(f"not all delivered: {detail}")
    assert wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED
    )

    # A STOP through the inbound webhook: the confirmation leaves through a worker.
    _connection, token = connection_create(name="kannel", kind=GatewayKind.KANNEL)
    url = reverse("kannel-inbound", args=[token])
    answer = client.get(url, {"id": "mo-1", "from": "+447400000007", "to": "36034", "text": "STOP"})
    assert answer.status_code == 200
    entry = BlacklistEntry.objects.get(account=account)
    assert entry.phone_number == "+447400000007"
    confirmations = wait_until(
        lambda: [sms for sms in kannel.received() if sms.receiver == "+447400000007"][1:]
    )
    assert [sms.text for sms in confirmations] == [
        "You will no longer receive SMS from shop. Unsubscribed."
    ]
