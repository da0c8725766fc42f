"""Support staff: the queue of unattributed STOPs (assigning one applies the STOP) and
gateway connections whose secret is shown once and rotated."""

from __future__ import annotations

from typing import Any

from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import CreditEntry, EntryKind
from blacklist.models import (
    BlacklistEntry,
    GatewayConnection,
    GatewayKind,
    InboundMessage,
    InboundStatus,
)
from blacklist.services import connection_create, connection_for_secret
from tests.builders import make_account


def unattributed(connection: GatewayConnection, carrier_id: str = "1") -> InboundMessage:
    return InboundMessage.objects.create(
        connection=connection,
        carrier_id=carrier_id,
        sender="+33612345678",
        receiver="36034",
        text="STOP",
        intent="stop",
        rule="word",
        status=InboundStatus.UNATTRIBUTED,
    )


def test_the_queue_lists_only_unattributed_stops_and_assigning_applies_the_stop(
    staff_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    connection, _secret = connection_create(name="kannel", kind=GatewayKind.KANNEL)
    waiting = unattributed(connection)
    done = unattributed(connection, "2")
    done.status = InboundStatus.BLACKLISTED
    done.save()
    account = make_account(slug="shop", credits=3)

    listing = staff_client.get(reverse("admin:blacklist_unattributedstop_changelist"))
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1

    url = reverse("admin:blacklist_unattributedstop_change", args=[waiting.pk])
    with django_capture_on_commit_callbacks(execute=True):
        answer = staff_client.post(url, {"assign_to": account.pk})

    assert answer.status_code == 302
    waiting.refresh_from_db()
    assert (waiting.status, waiting.account) == (InboundStatus.BLACKLISTED, account)
    entry = BlacklistEntry.objects.get(account=account)
    assert entry.confirmation is not None
    assert CreditEntry.objects.filter(kind=EntryKind.STOP_CONFIRMATION).count() == 1
    assert (
        staff_client.get(reverse("admin:blacklist_unattributedstop_changelist"))
        .context["cl"]
        .result_count
        == 0
    )


def test_a_new_connection_shows_its_secret_once_and_rotation_replaces_it(
    staff_client: Client,
) -> None:
    answer = staff_client.post(
        reverse("admin:blacklist_gatewayconnection_add"),
        {"name": "kannel-orange", "kind": "kannel", "shortcode": "36034", "active": "on"},
    )
    assert answer.status_code == 302
    [shown] = [str(message) for message in get_messages(answer.wsgi_request)][:1]
    secret = shown.split(": ", 1)[1].split(" ")[0]
    connection = GatewayConnection.objects.get()
    assert connection_for_secret(secret, "kannel") == connection
    assert secret not in connection.secret_hash
    assert "?from=%p&to=%P&text=%a&id=%I&smsc=%i" in shown
    assert (
        f"post-url (long replies): http://testserver/webhooks/kannel/inbound/{secret}/?id=%I"
        in shown
    )
    assert "send-sender = true" in shown and "mo-recode = true" in shown

    staff_client.post(
        reverse("admin:blacklist_gatewayconnection_changelist"),
        {"action": "rotate", "_selected_action": [connection.pk]},
    )
    assert connection_for_secret(secret, "kannel") is None
