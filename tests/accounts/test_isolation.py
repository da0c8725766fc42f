"""Another tenant's objects answer 404, and the request changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from campaigns import services
from campaigns.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact_of_b(account_b: Account) -> Contact:
    return services.contact_create(account=account_b, phone_number="06 11 22 33 44")


def test_another_accounts_contact_page_is_a_404(client_a: Client, contact_of_b: Contact) -> None:
    assert client_a.get(reverse("contact-edit", args=[contact_of_b.pk])).status_code == 404


def test_another_accounts_contact_cannot_be_edited(client_a: Client, contact_of_b: Contact) -> None:
    response = client_a.post(
        reverse("contact-edit", args=[contact_of_b.pk]),
        {"phone_number": "06 99 99 99 99", "first_name": "Mallory"},
    )

    assert response.status_code == 404
    contact_of_b.refresh_from_db()
    assert contact_of_b.first_name == ""


def test_another_accounts_contact_cannot_be_deleted(
    client_a: Client, contact_of_b: Contact
) -> None:
    response = client_a.post(reverse("contact-delete", args=[contact_of_b.pk]))

    assert response.status_code == 404
    assert Contact.objects.filter(pk=contact_of_b.pk).exists()


def test_the_owner_sees_and_edits_their_contact(client_b: Client, contact_of_b: Contact) -> None:
    assert client_b.get(reverse("contact-edit", args=[contact_of_b.pk])).status_code == 200


def test_contact_lists_never_mix_tenants(
    client_a: Client, client_b: Client, contact_of_b: Contact
) -> None:
    assert contact_of_b not in client_a.get(reverse("contact-list")).context["page"].object_list
    assert contact_of_b in client_b.get(reverse("contact-list")).context["page"].object_list
