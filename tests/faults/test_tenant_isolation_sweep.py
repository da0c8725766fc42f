"""Item 14: every customer-area page and API endpoint that takes an object id, asked by
another account (its user's session, its API key) for one of B's objects, answers as it
does for an id that does not exist: 404, and nothing of B's changes.

The routes come from the URL conf, not from a list written here: a new URL whose id
designates a kind of object this file knows (`OBJECTS`, keyed by the route up to its
first parameter) is swept automatically, and a URL it does not know how to exercise
fails the sweep instead of being skipped silently: add its object kind to `OBJECTS`, or
say in `NOT_TENANT_OBJECTS` why its parameter is no tenant's object.

Ids also travel in bodies and query strings (lists of a campaign or a contact, the
account to switch to, filters): those are checked one by one at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.models import Account, ApiKey
from accounts.services import api_key_create
from blacklist.models import BlacklistEntry, BlacklistSource
from blacklist.services import blacklist_numbers
from callbacks.models import CallbackEndpoint
from callbacks.services import callback_create
from campaigns import imports, services
from campaigns.lifecycle import campaign_create
from campaigns.models import Campaign, Contact, ContactImport, ContactList, Message, MessageState
from campaigns.phone import normalize_number
from tests.api.conftest import client_with_key, key_for

pytestmark = pytest.mark.django_db

PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>")


@dataclass(frozen=True)
class Route:
    route: str  # "campaigns/<int:pk>/launch/"
    name: str | None
    namespace: str | None

    @property
    def prefix(self) -> str:
        """The route up to its first parameter: "campaigns/"."""
        match = PARAMETER.search(self.route)
        return self.route[: match.start()] if match else self.route

    @property
    def parameters(self) -> list[tuple[str, str]]:
        return [
            (match["converter"] or ("regex" if match["group"] else "str"), match["name"] or "")
            for match in PARAMETER.finditer(self.route)
        ]

    def path(self, pk: int) -> str:
        return "/" + PARAMETER.sub(str(pk), self.route)

    @property
    def api(self) -> bool:
        return self.route.startswith("api/")


def routes(patterns: Any = None, prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(
                pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace
            )
        elif isinstance(pattern, URLPattern):
            yield Route(prefix + str(pattern.pattern), pattern.name, namespace)


# Routes whose parameter is not one tenant's object, and why they are not swept here.
NOT_TENANT_OBJECTS = {
    "webhooks/kannel/inbound/": "a carrier's token: tests/faults/test_webhook_signatures.py",
    "webhooks/inbound/": "a carrier's connection name, signed requests: the same file",
    "reset/": "Django's password reset (a signed token for one user)",
    "^": "the public unsubscribe page behind an account's code in every international SMS",
}


def _message(account: Account) -> int:
    return Message.objects.create(
        account=account, phone_number="+33611111111", region="FR", text="Hello STOP 36034",
        segments=1, credits=1, state=MessageState.SENT,
    ).pk  # fmt: skip


def _contact(account: Account) -> int:
    return services.contact_create(account=account, phone_number="06 11 22 33 44").pk


def _list(account: Account) -> int:
    return services.contact_list_create(account=account, name="VIP").pk


def _campaign(account: Account) -> int:
    # A draft with a recipient and the credits for it: launching it would succeed,
    # deleting it too, so a leak would show as a change.
    return campaign_create(
        account=account,
        name="Soldes",
        text="Soldes d'hiver",
        numbers=[normalize_number("06 12 34 56 78")],
    ).pk


def _entry(account: Account) -> int:
    (entry,) = blacklist_numbers(
        account=account, numbers=["+33699999999"], source=BlacklistSource.MANUAL
    )
    return entry.pk


def _import(account: Account) -> int:
    upload = SimpleUploadedFile("contacts.csv", b"phone;name\n0611223344;Ana\nbad;Bob\n")
    return imports.import_upload(account=account, upload=upload, user=None).pk


def _key(account: Account) -> int:
    return api_key_create(account=account, name="theirs", created_by=None)[0].pk


def _callback(account: Account) -> int:
    return callback_create(
        account=account, url="https://example.com/hook", events=["inbound", "message.status"]
    )[0].pk


# The kind of object each route's id designates, by the route up to its first parameter.
OBJECTS: dict[str, Callable[[Account], int]] = {
    "api/v1/messages/": _message,
    "api/v1/contacts/": _contact,
    "api/v1/lists/": _list,
    "api/v1/blacklist/": _entry,
    "api/v1/callbacks/": _callback,
    "api/v1/campaigns/": _campaign,
    "account/api/keys/": _key,
    "account/api/callbacks/": _callback,
    "campaigns/": _campaign,
    "contacts/import/": _import,
    "contacts/": _contact,
    "blacklist/": _entry,
}

# What B owns, read before and after the sweep: nothing may change.
OWNED = [Campaign, Contact, ContactList, ContactImport, Message, BlacklistEntry, ApiKey,
         CallbackEndpoint]  # fmt: skip

# Bodies that a mis-scoped view would act on (a page's form, an API PATCH).
FORM = {
    "reason": "not mine",
    "phone_number": "06 55 55 55 55",
    "first_name": "Mallory",
    "name": "Mallory",
    "column_0": "phone_number",
}
JSON = {"name": "Mallory", "first_name": "Mallory", "reason": "not mine", "active": False}


def swept_routes() -> list[Route]:
    return [
        route
        for route in routes()
        if route.parameters and route.namespace != "admin"  # staff only: see below
    ]


def kind_of(route: Route) -> Callable[[Account], int] | None:
    for prefix, build in OBJECTS.items():
        if route.prefix == prefix:
            return build
    return None


def test_every_route_with_a_parameter_is_known() -> None:
    unknown = [
        route.route
        for route in swept_routes()
        if kind_of(route) is None
        and not any(route.route.startswith(prefix) for prefix in NOT_TENANT_OBJECTS)
    ]
    assert unknown == [], (
        "These URLs take a parameter this sweep does not know how to exercise: add the "
        "kind of object to OBJECTS (or the reason it is no tenant's to NOT_TENANT_OBJECTS) "
        f"in {__file__}: {unknown}"
    )
    odd = [
        route.route
        for route in swept_routes()
        if kind_of(route) is not None
        and [converter for converter, _name in route.parameters] != ["int"]
    ]
    assert odd == [], f"a swept route takes one integer id; teach the sweep these: {odd}"


def snapshot(account: Account) -> dict[str, list[dict[str, Any]]]:
    return {
        model.__name__: [
            model_to_dict(row) for row in model.objects.filter(account=account).order_by("pk")
        ]
        for model in OWNED
    }


def _request(client: Client, method: str, path: str, api: bool) -> Any:
    if method == "GET":
        return client.get(path)
    if api:
        return getattr(client, method.lower())(path, JSON, format="json")
    return client.post(path, FORM)


def test_another_accounts_objects_answer_404_on_every_route(
    account_a: Account, account_b: Account, client_a: Client
) -> None:
    api_key_client: APIClient = client_with_key(key_for(account_a))
    session_api = APIClient()
    session_api.force_login(account_a.memberships.get(role="owner").user)
    built: dict[Callable[[Account], int], int] = {}
    swept = []
    for route in swept_routes():
        build = kind_of(route)
        if build is None:
            continue
        if build not in built:
            built[build] = build(account_b)
        swept.append((route, built[build]))
    before = snapshot(account_b)
    missing_pk = 2_000_000_000

    failures = []
    for route, pk in swept:
        methods = ["GET", "POST", "PATCH", "DELETE"] if route.api else ["GET", "POST"]
        clients = {"key": api_key_client, "session": session_api} if route.api else {
            "session": client_a
        }  # fmt: skip
        for who, client in clients.items():
            statuses = []
            for method in methods:
                theirs = _request(client, method, route.path(pk), route.api)
                nobodys = _request(client, method, route.path(missing_pk), route.api)
                statuses.append(theirs.status_code)
                if theirs.status_code != nobodys.status_code:
                    failures.append(
                        f"{method} /{route.route} ({who}): {theirs.status_code} for another "
                        f"account's object, {nobodys.status_code} for a missing one"
                    )
                elif theirs.status_code not in {404, 405}:
                    failures.append(f"{method} /{route.route} ({who}): {theirs.status_code}")
            if 404 not in statuses:
                failures.append(f"/{route.route} ({who}): no method answered 404: {statuses}")

    assert failures == []
    assert snapshot(account_b) == before
    assert {route.prefix for route, _pk in swept} == set(OBJECTS), "an object kind went unswept"


def test_the_admin_is_for_support_staff_only(client_a: Client) -> None:
    """The admin's URLs take ids of every tenant: a customer gets none of them."""
    for route in routes():
        if route.namespace != "admin":
            continue
        path = route.path(1) if route.parameters else "/" + route.route
        if "<" in path or "(?P" in path or "^" in path or route.name in {"login", "logout"}:
            continue
        answer = client_a.get(path)
        assert answer.status_code in {302, 404}, (path, answer.status_code)
        if answer.status_code == 302:
            assert "/admin/login/" in answer["Location"], path


# -- ids in bodies and query strings ----------------------------------------------------


@pytest.fixture
def theirs(account_b: Account) -> dict[str, int]:
    return {
        "list": _list(account_b),
        "campaign": _campaign(account_b),
        "contact": _contact(account_b),
        "account": account_b.pk,
    }


def test_a_campaign_cannot_name_another_accounts_list(
    account_a: Account, account_b: Account, client_a: Client, theirs: dict[str, int]
) -> None:
    api = client_with_key(key_for(account_a))
    before = snapshot(account_b)

    page = client_a.post(
        "/campaigns/new/",
        {"action": "save", "name": "x", "text": "Promo", "lists": [theirs["list"]]},
    )
    answer = api.post(
        "/api/v1/campaigns", {"name": "x", "text": "Promo", "lists": [theirs["list"]]},
        format="json",
    )  # fmt: skip

    assert page.status_code == 200  # the form again, with its error
    assert not Campaign.objects.filter(account=account_a).exists()
    assert answer.status_code in {404, 422}
    assert snapshot(account_b) == before


def test_a_contact_cannot_join_another_accounts_list(
    account_a: Account, account_b: Account, theirs: dict[str, int]
) -> None:
    api = client_with_key(key_for(account_a))

    created = api.post(
        "/api/v1/contacts", {"phone_number": "0622222222", "lists": [theirs["list"]]},
        format="json",
    )  # fmt: skip

    assert created.status_code in {404, 422}
    assert not ContactList.objects.get(pk=theirs["list"]).contacts.exists()


def test_filters_by_another_accounts_ids_show_nothing_of_theirs(
    account_a: Account, account_b: Account, theirs: dict[str, int]
) -> None:
    api = client_with_key(key_for(account_a))
    Contact.objects.get(pk=theirs["contact"]).lists.add(theirs["list"])
    Message.objects.create(
        account=account_b, campaign_id=theirs["campaign"], phone_number="+33612345678",
        region="FR", text="x", segments=1, credits=1,
    )  # fmt: skip

    contacts = api.get("/api/v1/contacts", {"list": theirs["list"]})
    messages = api.get("/api/v1/messages", {"campaign": theirs["campaign"]})

    for answer in (contacts, messages):
        assert answer.status_code in {200, 400, 404, 422}
        if answer.status_code == 200:
            assert answer.json()["results"] == []


def test_a_user_cannot_switch_to_an_account_they_do_not_belong_to(
    account_a: Account, client_a: Client, theirs: dict[str, int]
) -> None:
    answer = client_a.post("/account/switch/", {"account": theirs["account"]})

    assert answer.status_code == 404
    assert client_a.get("/dashboard/").context["request"].account == account_a
