"""A STOP the phone sent in UCS-2 (coding 2), end to end through a real Kannel, for
each way of configuring it: a get-url's %a carries the UTF-16BE bytes ("%00S%00T…"),
which the webhook refuses (400, a NUL character) unless smsbox has mo-recode = true;
a post-url's body says its charset, so it is read either way."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from blacklist.models import BlacklistEntry, GatewayKind, InboundMessage, RejectedInbound
from blacklist.services import connection_create
from tests.blacklist.test_inbound import sent_message
from tests.builders import make_account
from tests.kannel_harness import running_kannel

pytestmark = [
    pytest.mark.kannel,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

NUMBER = "+33612345621"
GET_URL = "?from=%p&to=%P&text=%a&id=%I&smsc=%i"
POST_URL = "?id=%I"


def wait_until(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


@pytest.mark.parametrize(
    ("service", "mo_recode", "blacklisted"),
    [
        ("get-url", None, False),  # Kannel's default: the STOP is lost
        ("get-url", True, True),
        ("post-url", None, True),
        ("post-url", True, True),
    ],
)
def test_a_ucs2_stop(
    tmp_path: Path, live_server: Any, service: str, mo_recode: bool | None, blacklisted: bool
) -> None:
    _connection, token = connection_create(name="kannel", kind=GatewayKind.KANNEL)
    url = f"{live_server.url}/webhooks/kannel/inbound/{token}/"
    sent_message(make_account(slug="shop", credits=10), NUMBER)
    options: dict[str, Any] = (
        {"mo_url": url + GET_URL}
        if service == "get-url"
        else {"mo_post_url": url + POST_URL, "send_sender": True}
    )

    with running_kannel(tmp_path / "kannel", mo_recode=mo_recode, **options) as kannel:
        kannel.send_mo(NUMBER, "36034", "STOP 🙏", ucs2=True)
        done = wait_until(
            lambda: InboundMessage.objects.exists() or RejectedInbound.objects.exists()
        )
        assert done, kannel.logs()

    if blacklisted:
        assert InboundMessage.objects.get().text == "STOP 🙏"
        assert BlacklistEntry.objects.get().phone_number == NUMBER
    else:
        assert not InboundMessage.objects.exists()
        assert "NUL character" in RejectedInbound.objects.first().reason
        assert "text=%00S%00T%00O%00P" in RejectedInbound.objects.first().raw
