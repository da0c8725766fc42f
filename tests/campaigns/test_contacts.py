from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from campaigns import services
from campaigns.errors import DuplicateContact
from campaigns.models import Contact
from campaigns.phone import InvalidNumber, normalize_number


@pytest.mark.parametrize(
    ("typed", "e164", "region"),
    [
        ("06 12 34 56 78", "+33612345678", "FR"),
        ("0612345678", "+33612345678", "FR"),
        ("+33 6 12 34 56 78", "+33612345678", "FR"),
        ("0033612345678", "+33612345678", "FR"),
        ("+44 7400 123456", "+447400123456", "GB"),
        ("+32 450 00 12 34", "+32450001234", "BE"),
        ("0690 00 12 34", "+590690001234", "GP"),
    ],
)
def test_typed_numbers_are_normalised_to_e164_with_their_region(
    typed: str, e164: str, region: str
) -> None:
    number = normalize_number(typed)

    assert (number.e164, number.region) == (e164, region)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "unreadable"),
        ("06 12", "invalid"),
        ("1" * 50, "too_long"),
    ],
)
def test_bad_numbers_are_refused_with_a_specific_reason(typed: str, code: str) -> None:
    with pytest.raises(InvalidNumber) as refusal:
        normalize_number(typed)

    assert refusal.value.code == code


@pytest.mark.django_db
def test_a_number_is_unique_per_account_whatever_its_spelling(
    account_a: Account, account_b: Account
) -> None:
    services.contact_create(account=account_a, phone_number="06 12 34 56 78")
    services.contact_create(account=account_b, phone_number="06 12 34 56 78")

    with pytest.raises(DuplicateContact):
        services.contact_create(account=account_a, phone_number="+33612345678")

    assert Contact.objects.filter(account=account_a).count() == 1


@pytest.mark.django_db
def test_the_contact_form_reports_an_invalid_number_and_creates_nothing(
    client_a: Client,
) -> None:
    response = client_a.post(reverse("contact-create"), {"phone_number": "06 12"})

    assert response.status_code == 200
    assert response.context["form"].errors["phone_number"]
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_a_contact_added_in_the_customer_area_is_stored_in_e164(
    client_a: Client, account_a: Account
) -> None:
    response = client_a.post(
        reverse("contact-create"),
        {"phone_number": "07 98 76 54 32", "first_name": "Léa", "consent_basis": "opt_in"},
    )

    assert response.status_code == 302
    contact = Contact.objects.get(account=account_a)
    assert (contact.phone_number, contact.region, contact.first_name) == (
        "+33798765432",
        "FR",
        "Léa",
    )


@pytest.mark.django_db
def test_contacts_are_searched_by_name_or_national_number(
    client_a: Client, account_a: Account
) -> None:
    services.contact_create(account=account_a, phone_number="06 12 34 56 78", first_name="Camille")
    services.contact_create(account=account_a, phone_number="+447400123456", first_name="Oliver")

    by_name = client_a.get(reverse("contact-list"), {"q": "oliv"}).context["page"].object_list
    by_number = client_a.get(reverse("contact-list"), {"q": "06 12 34"}).context["page"].object_list

    assert [c.first_name for c in by_name] == ["Oliver"]
    assert [c.first_name for c in by_number] == ["Camille"]
