"""`/api/v1/contacts` and `/api/v1/lists`: CRUD, and the bulk import with the CSV
import's rules and per-row errors (`campaigns.imports.contacts_upsert`)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import services
from campaigns.api.messages import PhoneField
from campaigns.imports import BATCH_SIZE, ContactRow, contacts_upsert
from campaigns.models import ConsentBasis, Contact, ContactList
from campaigns.selectors import (
    contact_get,
    contact_list,
    contact_list_get,
    contact_lists,
    contact_search,
)
from smsplatform.api.fields import StrictCharField, StrictIntegerField
from smsplatform.api.filters import IntegerFilter, StrictFilterSet
from smsplatform.api.schema import conflict
from smsplatform.api.views import AccountAPIView

MAX_IMPORT_ROWS = 10_000
MAX_FIELDS = 50

# -- serializers ------------------------------------------------------------------------


class CustomFields(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", StrictCharField(max_length=255, allow_blank=True))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", 'Custom fields for `{field}` in texts: `{"city": "Lyon"}`.')
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value = super().to_internal_value(data)
        if len(value) > MAX_FIELDS:
            raise serializers.ValidationError(_("At most %(max)d fields.") % {"max": MAX_FIELDS})
        if any(not key or len(key) > 100 for key in value):
            raise serializers.ValidationError(_("A field's name has 1 to 100 characters."))
        return value


class ListIds(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", StrictIntegerField(min_value=1))
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault("help_text", "Ids of the account's lists the contact belongs to.")
        super().__init__(**kwargs)


def own_lists(account: Any, ids: list[int]) -> list[ContactList]:
    found = {item.pk: item for item in ContactList.objects.filter(account=account, pk__in=ids)}
    unknown = [pk for pk in dict.fromkeys(ids) if pk not in found]
    if unknown:
        raise serializers.ValidationError(
            _("Unknown contact list: %(ids)s.") % {"ids": ", ".join(map(str, unknown))}
        )
    return [found[pk] for pk in dict.fromkeys(ids)]


class ContactIn(serializers.Serializer):
    phone_number = PhoneField()
    first_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    fields = CustomFields()
    consent_basis = serializers.ChoiceField(
        choices=ConsentBasis.choices,
        required=False,
        help_text='The consent the contact gave for commercial SMS ("": not recorded).',
    )
    consent_at = serializers.DateTimeField(required=False, allow_null=True)
    lists = ListIds()

    def validate_lists(self, ids: list[int]) -> list[ContactList]:
        return own_lists(self.context["account"], ids)


class ContactOut(serializers.ModelSerializer):
    lists = serializers.SerializerMethodField()
    consent_basis = serializers.ChoiceField(choices=ConsentBasis.choices)
    fields = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = Contact
        fields = [
            "id",
            "phone_number",
            "region",
            "first_name",
            "last_name",
            "fields",
            "consent_basis",
            "consent_at",
            "lists",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_lists(self, contact: Contact) -> list[int]:
        return sorted(item.pk for item in contact.lists.all())


class ContactListIn(serializers.Serializer):
    name = StrictCharField(max_length=120)


class ContactListOut(serializers.ModelSerializer):
    contacts = serializers.IntegerField(source="contact_count", help_text="Contacts in it.")

    class Meta:
        model = ContactList
        fields = ["id", "name", "contacts", "created_at"]


class ImportItem(serializers.Serializer):
    phone_number = StrictCharField(
        max_length=255, allow_blank=True, help_text="As typed: a bad one is rejected, not fatal."
    )
    first_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    consent_at = serializers.DateTimeField(required=False, allow_null=True)
    fields = CustomFields()


class ImportIn(serializers.Serializer):
    contacts = serializers.ListField(
        child=ImportItem(), min_length=1, max_length=MAX_IMPORT_ROWS, help_text="Up to 10,000."
    )
    list = StrictCharField(
        max_length=120,
        required=False,
        allow_blank=True,
        help_text="Add them to this list (created if new).",
    )
    consent_basis = serializers.ChoiceField(choices=ConsentBasis.choices, required=False)
    consent_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="The consent date of the whole import."
    )


class RejectionOut(serializers.Serializer):
    line = serializers.IntegerField(help_text="Position of the item in `contacts`, from 1.")
    value = serializers.CharField()
    reason = serializers.CharField()


class ImportOut(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    merged = serializers.IntegerField(help_text="Already a contact, or twice in the import.")
    blacklisted = serializers.IntegerField(help_text="On the Blacklist: skipped.")
    rejected = serializers.IntegerField()
    rejections = RejectionOut(many=True)
    list = serializers.IntegerField(allow_null=True, help_text="The list's id, if one was named.")


class ContactFilter(StrictFilterSet):
    q = django_filters.CharFilter(method="search", label="Name or part of the number")
    list = IntegerFilter(field_name="lists__id", label="A list's id")

    class Meta:
        model = Contact
        fields = ["q", "list"]

    def search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        return contact_search(queryset, value)


CONTACT_EXAMPLE = {
    "id": 7,
    "phone_number": "+33612345678",
    "region": "FR",
    "first_name": "Camille",
    "last_name": "Martin",
    "fields": {"city": "Lyon"},
    "consent_basis": "opt_in",
    "consent_at": "2026-03-02T10:00:00+01:00",
    "lists": [3],
    "created_at": "2026-11-02T09:12:00+01:00",
    "updated_at": "2026-11-02T09:12:00+01:00",
}

# -- views --------------------------------------------------------------------------------


class ContactsView(AccountAPIView):
    queryset = Contact.objects.none()
    filterset_class = ContactFilter

    def scoped_queryset(self) -> QuerySet[Contact]:
        return contact_list(account=self.account).prefetch_related("lists")

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return ContactIn if self.request.method == "POST" else ContactOut

    @extend_schema(
        tags=["contacts"],
        summary="The account's contacts",
        description="`q` searches names and numbers (`06 12…` finds +336 12…).",
        responses=ContactOut(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ContactOut(page, many=True).data)

    @extend_schema(
        tags=["contacts"],
        summary="Add a contact",
        description="A number already among the contacts is a 409 (`duplicate_contact`).",
        request=ContactIn,
        responses={201: ContactOut, 409: conflict("The number is already a contact.")},
        examples=[
            OpenApiExample(
                "A contact",
                value={"phone_number": "06 12 34 56 78", "first_name": "Camille"},
                request_only=True,
            ),
            OpenApiExample(
                "Created", value=CONTACT_EXAMPLE, response_only=True, status_codes=[201]
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = ContactIn(data=request.data, context={"account": self.account})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact = services.contact_create(
            account=self.account,
            phone_number=data["phone_number"],
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            fields=data.get("fields") or {},
            consent_basis=data.get("consent_basis", ""),
            consent_at=data.get("consent_at"),
            lists=data.get("lists"),
        )
        return Response(ContactOut(contact).data, status=201)


class ContactDetailView(AccountAPIView):
    serializer_class = ContactIn

    @extend_schema(
        tags=["contacts"],
        summary="One contact",
        responses=ContactOut,
        examples=[OpenApiExample("A contact", value=CONTACT_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ContactOut(contact_get(account=self.account, pk=pk)).data)

    @extend_schema(
        tags=["contacts"],
        summary="Change a contact (the fields given; `fields` and `lists` are replaced)",
        request=ContactIn(partial=True),
        responses={200: ContactOut, 409: conflict("The new number is already a contact.")},
    )
    def patch(self, request: Request, pk: int) -> Response:
        contact = contact_get(account=self.account, pk=pk)
        serializer = ContactIn(data=request.data, partial=True, context={"account": self.account})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.contact_update(
            contact=contact,
            phone_number=data.get("phone_number", contact.phone_number),
            first_name=data.get("first_name", contact.first_name),
            last_name=data.get("last_name", contact.last_name),
            consent_basis=data.get("consent_basis", contact.consent_basis),
            consent_at=data.get("consent_at", contact.consent_at),
            fields=data.get("fields"),
            lists=data.get("lists"),
        )
        return Response(ContactOut(contact_get(account=self.account, pk=pk)).data)

    @extend_schema(tags=["contacts"], summary="Delete a contact", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.contact_delete(contact=contact_get(account=self.account, pk=pk))
        return Response(status=204)


class ContactImportView(AccountAPIView):
    serializer_class = ImportIn

    @extend_schema(
        tags=["contacts"],
        summary="Import up to 10,000 contacts at once",
        description=(
            "The CSV import's rules: numbers normalised, a row whose number cannot be "
            "read rejected with its position and reason (the others are imported), "
            "numbers on the Blacklist skipped and counted, duplicates merged with existing "
            "contacts (later values win)."
        ),
        request=ImportIn,
        responses={200: ImportOut},
        examples=[
            OpenApiExample(
                "Import",
                value={
                    "contacts": [
                        {"phone_number": "06 12 34 56 78", "first_name": "Camille"},
                        {"phone_number": "12", "first_name": "Typo"},
                    ],
                    "list": "Newsletter",
                    "consent_basis": "opt_in",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Result",
                value={
                    "rows": 2,
                    "created": 1,
                    "merged": 0,
                    "blacklisted": 0,
                    "rejected": 1,
                    "rejections": [
                        {"line": 2, "value": "12", "reason": "This is not a phone number."}
                    ],
                    "list": 4,
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validated(ImportIn)
        totals = {"created": 0, "merged": 0, "rejected": 0, "blacklisted": 0, "rows": 0}
        rejections = []
        seen: set[str] = set()
        rows = [
            ContactRow(
                line,
                item["phone_number"],
                {
                    key: item[key]
                    for key in ("first_name", "last_name", "consent_at", "fields")
                    if item.get(key) is not None
                },
            )
            for line, item in enumerate(data["contacts"], start=1)
        ]
        with transaction.atomic():  # all or nothing: a crash leaves no half import
            target = None
            if data.get("list", "").strip():
                target, _created = ContactList.objects.get_or_create(
                    account=self.account, name=data["list"].strip()
                )
            for start in range(0, len(rows), BATCH_SIZE):
                counts, rejected = contacts_upsert(
                    account=self.account,
                    rows=rows[start : start + BATCH_SIZE],
                    seen=seen,
                    consent_basis=data.get("consent_basis", ""),
                    consent_at=data.get("consent_at"),
                    target_list_id=target.pk if target else None,
                )
                for name, value in counts.items():
                    totals[name] += value
                rejections += rejected
        return Response(
            ImportOut(
                {
                    **totals,
                    "rejections": [item.__dict__ for item in rejections],
                    "list": target.pk if target else None,
                }
            ).data
        )


class ListsView(AccountAPIView):
    queryset = ContactList.objects.none()

    def scoped_queryset(self) -> QuerySet[ContactList]:
        return contact_lists(account=self.account)

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return ContactListIn if self.request.method == "POST" else ContactListOut

    @extend_schema(
        tags=["lists"], summary="The account's contact lists", responses=ContactListOut(many=True)
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ContactListOut(page, many=True).data)

    @extend_schema(
        tags=["lists"],
        summary="Create a list",
        description="Names are unique in the account (409 `duplicate_list`).",
        request=ContactListIn,
        responses={201: ContactListOut, 409: conflict("A list has this name already.")},
    )
    def post(self, request: Request) -> Response:
        data = self.validated(ContactListIn)
        created = services.contact_list_create(account=self.account, name=data["name"])
        return Response(
            ContactListOut(contact_list_get(account=self.account, pk=created.pk)).data, status=201
        )


class ListDetailView(AccountAPIView):
    serializer_class = ContactListIn

    @extend_schema(tags=["lists"], summary="One list", responses=ContactListOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(ContactListOut(contact_list_get(account=self.account, pk=pk)).data)

    @extend_schema(
        tags=["lists"],
        summary="Rename a list",
        request=ContactListIn,
        responses={200: ContactListOut, 409: conflict("A list has this name already.")},
    )
    def patch(self, request: Request, pk: int) -> Response:
        contact_list = contact_list_get(account=self.account, pk=pk)
        data = self.validated(ContactListIn)
        services.contact_list_rename(contact_list=contact_list, name=data["name"])
        return Response(ContactListOut(contact_list_get(account=self.account, pk=pk)).data)

    @extend_schema(
        tags=["lists"],
        summary="Delete a list (its contacts stay)",
        responses={204: None},
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.contact_list_delete(contact_list=contact_list_get(account=self.account, pk=pk))
        return Response(status=204)
