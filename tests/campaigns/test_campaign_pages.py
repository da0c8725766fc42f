"""Campaign pages: save from the compose page, review, launch (and its refusal), live
progress, pause/cancel, the Outbox, and tenants kept apart."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import CreditEntry, EntryKind
from campaigns.lifecycle import campaign_create
from campaigns.models import Campaign, CampaignStatus, Contact, ContactList, Message
from tests.builders import make_account
from tests.campaigns.test_dispatch import WEEKDAY_MORNING


@pytest.fixture(autouse=True)
def _tuesday_morning() -> Any:
    """Inside the French sending hours, whatever the machine's clock says."""
    with time_machine.travel(WEEKDAY_MORNING, tick=True):
        yield


@pytest.fixture
def audience(account_a: Any) -> ContactList:
    customers = ContactList.objects.create(account=account_a, name="Clients")
    for number, region in [("+33612345601", "FR"), ("+447400123456", "GB")]:
        Contact.objects.create(
            account=account_a, phone_number=number, region=region, first_name="Léa"
        ).lists.add(customers)
    return customers


def save(client: Client, **fields: Any) -> Any:
    data = {"action": "save", "name": "Soldes", "text": "Bonjour {first_name}", **fields}
    return client.post(reverse("compose"), data)


def test_save_and_review_creates_a_draft_with_its_exact_figures(
    client_a: Client, account_a: Any, audience: ContactList, django_capture_on_commit_callbacks: Any
) -> None:
    response = save(client_a, lists=[audience.pk], sender_id="BOUTIQUE")
    campaign = Campaign.objects.get(account=account_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("campaign-detail", args=[campaign.pk])
    assert campaign.status == CampaignStatus.DRAFT
    assert not Message.objects.exists()

    page = client_a.get(response["Location"]).content.decode()
    assert 'data-testid="plan-recipients">2<' in page
    assert 'data-testid="plan-credits">3<' in page  # 1 French + 2 for the British number
    assert 'data-testid="plan-no-consent">2<' in page
    assert "consent-warning" in page

    with django_capture_on_commit_callbacks(execute=True):
        launched = client_a.post(reverse("campaign-launch", args=[campaign.pk]))
    assert launched.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    page = client_a.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert 'data-testid="count-delivered">2<' in page
    assert 'data-testid="delivery-rate">100.0 %<' in page
    assert "delivery-chart" in page

    outbox = client_a.get(reverse("outbox")).content.decode()
    assert "Bonjour Léa STOP 36034" in outbox
    assert f"Bonjour Léa {account_a.unsubscribe_link}" in outbox


def test_saving_needs_a_name_a_text_and_recipients(client_a: Client, account_a: Any) -> None:
    response = client_a.post(reverse("compose"), {"action": "save", "text": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Give the campaign a name." in page
    assert "Write the message." in page
    assert "Choose recipients" in page
    assert not Campaign.objects.exists()


def test_a_launch_without_enough_credits_shows_the_figures_and_changes_nothing(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    poor = make_account(slug="poor", credits=1)
    client = Client()
    client.force_login(poor.memberships.get().user)
    save(client, recipients="+447400123456\n0612345601")
    campaign = Campaign.objects.get(account=poor)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("campaign-launch", args=[campaign.pk]), follow=True)

    page = response.content.decode()
    assert "needs 3 credits and the account has 1" in page
    campaign.refresh_from_db()
    poor.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert poor.credit_balance == 1
    assert not Message.objects.exists()
    assert not CreditEntry.objects.filter(kind=EntryKind.CAMPAIGN).exists()


def test_scheduled_campaign_can_be_cancelled_and_is_refunded(
    client_a: Client, account_a: Any, audience: ContactList, django_capture_on_commit_callbacks: Any
) -> None:
    save(client_a, lists=[audience.pk], send_at="2026-11-30T10:00")
    campaign = Campaign.objects.get(account=account_a)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(reverse("campaign-launch", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    account_a.refresh_from_db()
    assert account_a.credit_balance == 997

    response = client_a.post(reverse("campaign-cancel", args=[campaign.pk]), follow=True)
    assert "3 credits of unsent messages were refunded" in response.content.decode()
    account_a.refresh_from_db()
    assert account_a.credit_balance == 1000


def test_the_progress_panel_polls_while_sending_only(
    client_a: Client, account_a: Any, audience: ContactList
) -> None:
    save(client_a, lists=[audience.pk], send_at="2026-11-30T10:00")
    campaign = Campaign.objects.get(account=account_a)
    client_a.post(reverse("campaign-launch", args=[campaign.pk]))
    panel = client_a.get(
        reverse("campaign-detail", args=[campaign.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert panel.lstrip().startswith("<section")  # the panel alone, for htmx
    assert 'hx-trigger="every 1s"' in panel  # scheduled: still live
    client_a.post(reverse("campaign-cancel", args=[campaign.pk]))
    panel = client_a.get(
        reverse("campaign-detail", args=[campaign.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "hx-trigger" not in panel


def test_past_send_time_is_refused(client_a: Client, account_a: Any, audience: ContactList) -> None:
    response = save(client_a, lists=[audience.pk], send_at="2026-11-01T10:00")
    assert "This time is in the past." in response.content.decode()
    assert not Campaign.objects.exists()


def test_tenants_never_see_each_others_campaigns_or_lists(
    client_a: Client, client_b: Client, account_a: Any, audience: ContactList
) -> None:
    save(client_a, lists=[audience.pk])
    campaign = Campaign.objects.get(account=account_a)
    for name in ("campaign-detail", "campaign-launch", "campaign-cancel", "campaign-delete"):
        method = client_b.get if name == "campaign-detail" else client_b.post
        assert method(reverse(name, args=[campaign.pk])).status_code == 404
    assert "Soldes" not in client_b.get(reverse("campaign-list")).content.decode()
    # B cannot send to A's list by forging its id.
    response = save(client_b, lists=[audience.pk])
    assert response.status_code == 200
    assert not Campaign.objects.filter(account__slug="tenant-b").exists()


def test_drafts_can_be_deleted_but_launched_campaigns_are_kept(
    client_a: Client, account_a: Any, audience: ContactList
) -> None:
    save(client_a, lists=[audience.pk])
    campaign = Campaign.objects.get(account=account_a)
    client_a.post(reverse("campaign-delete", args=[campaign.pk]))
    assert not Campaign.objects.exists()


def test_the_progress_panel_shows_unknown_and_parked_messages_with_a_word_on_them(
    client_a: Client, account_a: Any, audience: ContactList
) -> None:
    save(client_a, lists=[audience.pk], send_at="2026-11-30T10:00")
    campaign = Campaign.objects.get(account=account_a)
    client_a.post(reverse("campaign-launch", args=[campaign.pk]))
    panel = client_a.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert "count-unknown" not in panel and "support-note" not in panel  # only when any

    first, second = Message.objects.filter(campaign=campaign).order_by("id")
    Message.objects.filter(pk=first.pk).update(state="unknown")
    Message.objects.filter(pk=second.pk).update(state="parked")
    panel = client_a.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert 'data-testid="count-unknown">1<' in panel
    assert 'data-testid="count-parked">1<' in panel
    assert "they are never sent twice" in panel

    client_a.cookies["django_language"] = "fr"
    panel = client_a.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert "Résultat inconnu" in panel and "En attente du support" in panel
    assert "ils ne sont jamais envoyés deux fois" in panel


def test_save_and_review_clicked_twice_makes_one_draft(
    client_a: Client, account_a: Any, audience: ContactList
) -> None:
    page = client_a.get(reverse("compose")).content.decode()
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page).group(1)

    first = save(client_a, lists=[audience.pk], form_token=token)
    again = save(client_a, lists=[audience.pk], form_token=token)

    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Campaign.objects.filter(account=account_a).count() == 1
    # Another compose page is another draft; a token not of ours is as no token.
    other = re.search(
        r'name="form_token" value="([0-9a-f]{32})"',
        client_a.get(reverse("compose")).content.decode(),
    ).group(1)
    assert other != token
    save(client_a, lists=[audience.pk], form_token=other)
    save(client_a, lists=[audience.pk], form_token="<script>")
    assert Campaign.objects.filter(account=account_a).count() == 3
    # Another account's page with the same token makes its own draft.
    account_b = make_account(slug="other")

    assert (
        campaign_create(account=account_b, name="x", text="y", form_token=token).account
        == account_b
    )
