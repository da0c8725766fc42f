"""`/api/v1/contacts` and `/api/v1/lists`: CRUD, the bulk import with the CSV import's
rules and per-row errors, and another account's rows answered 404."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from blacklist.models import BlacklistSource
from blacklist.services import blacklist_numbers
from campaigns.models import Contact, ContactList
from campaigns.services import contact_create
from tests.api.conftest import error_of


def test_a_contact_is_created_read_changed_and_deleted(
    api_a: APIClient, account_a: Account
) -> None:
    shop = ContactList.objects.create(account=account_a, name="Shop")
    created = api_a.post(
        "/api/v1/contacts",
        {
            "phone_number": "06 12 34 56 78",
            "first_name": "Camille",
            "fields": {"city": "Lyon"},
            "consent_basis": "opt_in",
            "lists": [shop.pk],
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["phone_number"], body["region"], body["lists"]) == (
        "+33612345678",
        "FR",
        [shop.pk],
    )
    url = f"/api/v1/contacts/{body['id']}"

    assert api_a.get(url).json() == body
    changed = api_a.patch(url, {"last_name": "Martin", "lists": []}).json()
    assert (changed["first_name"], changed["last_name"], changed["lists"]) == (
        "Camille",
        "Martin",
        [],
    )
    assert changed["fields"] == {"city": "Lyon"}
    assert api_a.delete(url).status_code == 204
    assert not Contact.objects.exists()


def test_a_number_already_among_the_contacts_is_a_409(api_a: APIClient) -> None:
    api_a.post("/api/v1/contacts", {"phone_number": "0612345678"})

    response = api_a.post("/api/v1/contacts", {"phone_number": "+33 6 12 34 56 78"})

    assert response.status_code == 409
    assert error_of(response)["code"] == "duplicate_contact"
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"phone_number": "12"}, "phone_number"),
        ({"phone_number": "0612345678", "consent_basis": "maybe"}, "consent_basis"),
        ({"phone_number": "0612345678", "fields": {"city": 3}}, "fields"),
        ({"phone_number": "0612345678", "lists": [999999]}, "lists"),
    ],
)
def test_a_bad_contact_is_refused_field_by_field(
    api_a: APIClient, payload: dict[str, Any], field: str
) -> None:
    response = api_a.post("/api/v1/contacts", payload)

    assert response.status_code == 422
    assert list(error_of(response)["details"]) == [field]
    assert not Contact.objects.exists()


def test_the_list_searches_and_filters_by_list(api_a: APIClient, account_a: Account) -> None:
    shop = ContactList.objects.create(account=account_a, name="Shop")
    camille = contact_create(account=account_a, phone_number="0612345678", first_name="Camille")
    camille.lists.add(shop)
    contact_create(account=account_a, phone_number="0798765432", first_name="Léa")

    def numbers(**query: Any) -> list[str]:
        response = api_a.get("/api/v1/contacts", query)
        assert response.status_code == 200, response.json()
        return [row["phone_number"] for row in response.json()["results"]]

    assert sorted(numbers()) == ["+33612345678", "+33798765432"]
    assert numbers(q="06 12") == ["+33612345678"]
    assert numbers(q="léa") == ["+33798765432"]
    assert numbers(list=shop.pk) == ["+33612345678"]


def test_the_bulk_import_follows_the_csv_imports_rules(
    api_a: APIClient, account_a: Account
) -> None:
    contact_create(account=account_a, phone_number="0612345678", first_name="Old")
    blacklist_numbers(account=account_a, numbers=["+33645678901"], source=BlacklistSource.STOP_SMS)

    response = api_a.post(
        "/api/v1/contacts/import",
        {
            "contacts": [
                {"phone_number": "06 12 34 56 78", "first_name": "Camille"},
                {"phone_number": "not a number", "first_name": "Typo"},
                {"phone_number": "07 98 76 54 32", "fields": {"city": "Lyon"}},
                {"phone_number": "+33798765432", "last_name": "Bernard"},
                {"phone_number": "0645678901"},
            ],
            "list": "Newsletter",
            "consent_basis": "opt_in",
        },
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["rows"], body["created"], body["merged"]) == (5, 1, 2)
    assert (body["blacklisted"], body["rejected"]) == (1, 1)
    assert body["rejections"] == [
        {"line": 2, "value": "not a number", "reason": "This is not a phone number."}
    ]
    newsletter = ContactList.objects.get(account=account_a, name="Newsletter")
    assert body["list"] == newsletter.pk
    lea = Contact.objects.get(phone_number="+33798765432")
    assert (lea.last_name, lea.fields, lea.consent_basis) == ("Bernard", {"city": "Lyon"}, "opt_in")
    assert Contact.objects.get(phone_number="+33612345678").first_name == "Camille"
    assert not Contact.objects.filter(phone_number="+33645678901").exists()
    assert set(newsletter.contacts.values_list("phone_number", flat=True)) == {
        "+33612345678",
        "+33798765432",
    }


def test_a_malformed_import_changes_nothing(api_a: APIClient) -> None:
    for payload in (
        {"contacts": []},
        {"contacts": [{"first_name": "no number"}]},
        {"contacts": [{"phone_number": "0612345678"}], "consent_basis": "x"},
    ):
        response = api_a.post("/api/v1/contacts/import", payload)
        assert response.status_code == 422, payload
    assert not Contact.objects.exists()
    assert not ContactList.objects.exists()


def test_lists_are_created_renamed_counted_and_deleted(
    api_a: APIClient, account_a: Account
) -> None:
    created = api_a.post("/api/v1/lists", {"name": "VIP"})
    assert created.status_code == 201
    url = f"/api/v1/lists/{created.json()['id']}"
    contact_create(account=account_a, phone_number="0612345678").lists.add(created.json()["id"])

    assert api_a.get(url).json()["contacts"] == 1
    assert api_a.patch(url, {"name": "Gold"}).json()["name"] == "Gold"
    duplicate = api_a.post("/api/v1/lists", {"name": "Gold"})
    assert duplicate.status_code == 409
    assert error_of(duplicate)["code"] == "duplicate_list"
    assert [row["name"] for row in api_a.get("/api/v1/lists").json()["results"]] == ["Gold"]
    assert api_a.delete(url).status_code == 204
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_accounts_contact_and_list_are_404(
    api_b: APIClient, account_a: Account, method: str
) -> None:
    contact = contact_create(account=account_a, phone_number="0612345678", first_name="Camille")
    shop = ContactList.objects.create(account=account_a, name="Shop")

    for url, payload in (
        (f"/api/v1/contacts/{contact.pk}", {"first_name": "Mallory"}),
        (f"/api/v1/lists/{shop.pk}", {"name": "Mine"}),
    ):
        response = getattr(api_b, method)(url, payload if method == "patch" else None)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"
    contact.refresh_from_db()
    shop.refresh_from_db()
    assert (contact.first_name, shop.name) == ("Camille", "Shop")
    assert api_b.get("/api/v1/contacts").json()["results"] == []
    assert api_b.get("/api/v1/contacts", {"list": shop.pk}).json()["results"] == []
