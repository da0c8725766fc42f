"""The customer area shows dates and times in the account's time zone, not the server's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import time_machine
from django.test import Client
from django.urls import reverse

from blacklist.models import BlacklistEntry


def test_pages_and_exports_read_in_the_accounts_time_zone(client_a: Client, account_a: Any) -> None:
    account_a.timezone = "Asia/Tokyo"
    account_a.save(update_fields=["timezone"])
    with time_machine.travel(datetime(2026, 11, 24, 9, 30, tzinfo=UTC), tick=False):
        BlacklistEntry.objects.create(
            account=account_a, phone_number="+33612345678", source="manual"
        )

    page = client_a.get(reverse("blacklist")).content.decode()
    export = client_a.get(reverse("blacklist-export")).getvalue().decode()

    assert "11/24/2026 6:30 p.m." in page  # 09:30 UTC: 18:30 in Tokyo, 10:30 in Paris
    assert "10:30" not in page
    assert ";2026-11-24 18:30;" in export


def test_the_default_zone_is_paris(client_a: Client, account_a: Any) -> None:
    with time_machine.travel(datetime(2026, 11, 24, 9, 30, tzinfo=UTC), tick=False):
        BlacklistEntry.objects.create(
            account=account_a, phone_number="+33612345678", source="manual"
        )

    assert ";2026-11-24 10:30;" in client_a.get(reverse("blacklist-export")).getvalue().decode()
