"""STOP end to end through a real Kannel: the carrier (fakesmsc) sends "STOP" and a
noisy variant from numbers that received a campaign; bearerbox and smsbox call the
platform's get-url; the numbers land on the right account's Blacklist; fakesmsc
receives the confirmation SMS; a campaign still sending skips those numbers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import time_machine

import campaigns.tasks as tasks
from blacklist.models import BlacklistEntry, GatewayKind, InboundMessage, InboundStatus
from blacklist.services import connection_create
from campaigns import gateways
from campaigns.launch import launch_campaign
from campaigns.lifecycle import campaign_create
from campaigns.models import Message, MessageState
from campaigns.phone import normalize_number
from tests.builders import make_account
from tests.campaigns.test_dispatch import WEEKDAY_MORNING
from tests.kannel_harness import running_kannel

pytestmark = [
    pytest.mark.kannel,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

NUMBERS = ["+33612345601", "+33612345602", "+33612345603"]
SECRET = "e2e-report-secret"


@pytest.fixture
def kannel(tmp_path: Path, live_server: Any, settings: Any) -> Any:
    _connection, token = connection_create(name="kannel", kind=GatewayKind.KANNEL)
    mo_url = (
        f"{live_server.url}/webhooks/kannel/inbound/{token}/?from=%p&to=%P&text=%a&id=%I&smsc=%i"
    )
    with running_kannel(tmp_path / "kannel", mo_url=mo_url) as run:
        settings.SMS_GATEWAY = "kannel"
        settings.KANNEL_SENDSMS_URL = run.sendsms_url
        settings.KANNEL_USERNAME = run.username
        settings.KANNEL_PASSWORD = run.password
        settings.KANNEL_REPORT_SECRET = SECRET
        settings.SMS_PUBLIC_URL = live_server.url
        gateways.get_gateway.cache_clear()
        yield run
        gateways.get_gateway.cache_clear()


def wait_until(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


@time_machine.travel(WEEKDAY_MORNING, tick=True)  # inside the French sending hours
def test_a_stop_from_the_carrier_blacklists_confirms_and_stops_a_running_campaign(
    kannel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = make_account(slug="shop", name="Boutique", credits=100)
    other = make_account(slug="other", name="Autre", credits=100)
    numbers = [normalize_number(number) for number in NUMBERS]
    for account in (other, shop):  # the shop's message is the most recent one
        first = campaign_create(
            account=account, name="Soldes", text="Soldes -20%", sender_id="BOUTIQUE",
            numbers=numbers,
        )  # fmt: skip
        launch_campaign(first)  # dispatch runs inline, through Kannel
    assert len(kannel.wait_received(6, timeout=30)) == 6

    # A second campaign of the shop, launched, its messages still queued.
    monkeypatch.setattr(tasks, "start_dispatch", lambda campaign_id: None)
    running = campaign_create(
        account=shop, name="Relance", text="Dernier jour", sender_id="BOUTIQUE", numbers=numbers
    )
    launch_campaign(running)
    monkeypatch.undo()

    kannel.send_mo("+33612345601", "36034", "STOP")
    kannel.send_mo("+33612345602", "36034", "Stop merci !")

    entries = wait_until(lambda: BlacklistEntry.objects.count() == 2 and BlacklistEntry.objects)
    assert entries, kannel.logs()
    assert {(e.account_id, e.phone_number) for e in entries.all()} == {
        (shop.pk, "+33612345601"),
        (shop.pk, "+33612345602"),
    }
    inbound = InboundMessage.objects.order_by("sender")
    assert [(m.sender, m.receiver, m.text, m.status) for m in inbound] == [
        ("+33612345601", "36034", "STOP", InboundStatus.BLACKLISTED),
        ("+33612345602", "36034", "Stop merci !", InboundStatus.BLACKLISTED),
    ]
    assert all(m.carrier_id for m in inbound)  # Kannel's own message id

    confirmation = "Vous ne recevrez plus de SMS de Boutique. Desinscription confirmee."
    got = kannel.wait_received(8, timeout=30)
    confirmations = sorted(sms.receiver for sms in got if sms.text == confirmation)
    assert confirmations == ["+33612345601", "+33612345602"]
    assert {sms.sender for sms in got if sms.text == confirmation} == {"36034"}

    # The running campaign goes on, without the two numbers.
    tasks.dispatch_campaign(running.pk)
    states = dict(Message.objects.filter(campaign=running).values_list("phone_number", "state"))
    # Skipped (and refunded) right before its batch went to the gateway.
    assert states["+33612345601"] == states["+33612345602"] == MessageState.SKIPPED
    last = kannel.wait_received(9, timeout=30)
    relances = [sms.receiver for sms in last if sms.text.startswith("Dernier jour")]
    assert relances == ["+33612345603"]
