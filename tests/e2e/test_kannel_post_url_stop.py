"""Replies end to end through a real Kannel whose sms-service uses a post-url: fakesmsc
sends "STOP" and a long UCS-2 reply, bearerbox and smsbox POST them to the live
platform, the STOP lands on the right account's Blacklist (its confirmation reaches
fakesmsc) and the long reply is stored whole."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from blacklist.models import BlacklistEntry, GatewayKind, InboundMessage, InboundStatus
from blacklist.services import connection_create
from campaigns import gateways
from tests.blacklist.test_inbound import sent_message
from tests.builders import make_account
from tests.kannel_harness import running_kannel

pytestmark = [
    pytest.mark.kannel,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STOPPING, WRITING = "+33612345611", "+33612345612"
# 2,137 characters (2,138 UTF-16 units: 32 UCS-2 parts on the air), 4,276 bytes as
# Kannel's UTF-16BE body: far more than gunicorn's 4,094-byte request line could carry
# as a get-url's URL-encoded %a.
LONG_REPLY = "Bonjour, " + "é" * 2_120 + " 😀 merci"


@pytest.fixture
def kannel(tmp_path: Path, live_server: Any, settings: Any) -> Any:
    _connection, token = connection_create(name="kannel", kind=GatewayKind.KANNEL)
    post_url = f"{live_server.url}/webhooks/kannel/inbound/{token}/?id=%I"
    with running_kannel(tmp_path / "kannel", mo_post_url=post_url, send_sender=True) as run:
        settings.SMS_GATEWAY = "kannel"
        settings.KANNEL_SENDSMS_URL = run.sendsms_url
        settings.KANNEL_USERNAME = run.username
        settings.KANNEL_PASSWORD = run.password
        settings.SMS_PUBLIC_URL = live_server.url
        gateways.get_gateway.cache_clear()
        yield run
        gateways.get_gateway.cache_clear()


def wait_until(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def test_a_stop_and_a_long_ucs2_reply_through_a_post_url(kannel: Any) -> None:
    shop = make_account(slug="shop", name="Boutique", credits=100)
    other = make_account(slug="other", name="Autre", credits=100)
    for number in (STOPPING, WRITING):
        sent_message(other, number, ago=timedelta(days=3))
        sent_message(shop, number, ago=timedelta(hours=1))  # the latest: the shop's

    kannel.send_mo(STOPPING, "36034", "STOP")
    kannel.send_mo(WRITING, "36034", LONG_REPLY, ucs2=True)

    assert wait_until(lambda: InboundMessage.objects.count() == 2), kannel.logs()
    stop, reply = (InboundMessage.objects.get(sender=n) for n in (STOPPING, WRITING))
    assert (stop.receiver, stop.text, stop.status, stop.account) == (
        "36034",
        "STOP",
        InboundStatus.BLACKLISTED,
        shop,
    )
    assert (reply.text, reply.status, reply.account) == (LONG_REPLY, InboundStatus.REPLY, shop)
    assert UUID.match(stop.carrier_id) and UUID.match(reply.carrier_id)  # Kannel's %I
    entry = BlacklistEntry.objects.get()
    assert (entry.account, entry.phone_number) == (shop, STOPPING)

    confirmation = "Vous ne recevrez plus de SMS de Boutique. Desinscription confirmee."
    got = kannel.wait_received(1, timeout=30)
    assert [(sms.sender, sms.receiver, sms.text) for sms in got] == [
        ("36034", STOPPING, confirmation)
    ]
