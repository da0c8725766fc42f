"""End to end through a real Kannel: a campaign to French and international numbers
leaves through smsbox's sendsms, reaches fakesmsc (the carrier) with exactly the texts
the platform computed, and Kannel's delivery reports come back to the webhook."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import time_machine

from campaigns import gateways
from campaigns.launch import launch_campaign
from campaigns.lifecycle import campaign_create
from campaigns.models import Campaign, CampaignStatus, DeliveryReport, Message, MessageState
from campaigns.phone import normalize_number
from tests.builders import make_account
from tests.campaigns.test_dispatch import WEEKDAY_MORNING
from tests.kannel_harness import running_kannel

# The webhook runs in the live server's thread while dispatch writes: PostgreSQL, as in
# production (SQLite's shared in-memory test database locks between the two).
pytestmark = [
    pytest.mark.kannel,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

NUMBERS = ["+33612345601", "06 12 34 56 02", "+447400123456", "+4915112345678"]
SECRET = "e2e-report-secret"


@pytest.fixture
def kannel(tmp_path: Path, live_server: Any, settings: Any) -> Any:
    with running_kannel(tmp_path / "kannel") as run:
        settings.SMS_GATEWAY = "kannel"
        settings.KANNEL_SENDSMS_URL = run.sendsms_url
        settings.KANNEL_USERNAME = run.username
        settings.KANNEL_PASSWORD = run.password
        settings.KANNEL_REPORT_SECRET = SECRET
        settings.SMS_PUBLIC_URL = live_server.url
        settings.SMS_DISPATCH_BATCH = 3  # several batches
        gateways.get_gateway.cache_clear()
        yield run
        gateways.get_gateway.cache_clear()


def _wait_for_reports(campaign: Campaign, timeout: float = 30.0) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        states = Counter(Message.objects.filter(campaign=campaign).values_list("state", flat=True))
        if set(states) == {MessageState.DELIVERED} or time.monotonic() > deadline:
            return states
        time.sleep(0.1)


@time_machine.travel(WEEKDAY_MORNING, tick=True)  # inside the French sending hours
def test_campaign_through_kannel_reaches_the_carrier_exactly_and_reports_come_back(
    kannel: Any,
) -> None:
    account = make_account(slug="shop", credits=100)
    campaigns = [
        campaign_create(
            account=account,
            name=name,
            text=text,
            sender_id="BOUTIQUE",
            numbers=[normalize_number(number) for number in NUMBERS],
        )
        for name, text in [
            ("GSM", "Soldes -20% ce week-end, code ETE"),
            ("UCS-2", "Café ☕ offert ce week-end 😀 à bientôt"),
        ]
    ]
    for campaign in campaigns:
        launch_campaign(campaign)  # commits: dispatch runs inline, through Kannel

    expected = {
        (m.phone_number, m.text, m.ucs2) for m in Message.objects.filter(campaign__in=campaigns)
    }
    assert len(expected) == 8
    received = kannel.wait_received(8)
    got = {(r.receiver, r.text, r.coding == "ucs-2") for r in received}
    assert got == expected
    assert len(received) == 8  # each message exactly once
    assert {r.sender for r in received} == {"BOUTIQUE"}
    link = account.unsubscribe_link
    assert (
        "+33612345602",
        "Café ☕ offert ce week-end 😀 à bientôt STOP 36034",
        True,
    ) in got
    assert ("+447400123456", f"Soldes -20% ce week-end, code ETE {link}", False) in got

    for campaign in campaigns:
        states = _wait_for_reports(campaign)
        assert states == {MessageState.DELIVERED: 4}, states
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.COMPLETED
    # Kannel reports twice per message: accepted by the SMSC (8), then delivered (1).
    reports = Counter(DeliveryReport.objects.values_list("raw_status", flat=True))
    assert reports == {"8": 8, "1": 8}
    assert not DeliveryReport.objects.filter(message__isnull=True).exists()
    assert set(Message.objects.values_list("gateway", flat=True)) == {"kannel"}
