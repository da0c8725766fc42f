"""`/api/v1/blacklist`: the list with the page's filters, add (source API), remove what
the account added, and the CSV export the page gives."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from blacklist import selectors
from blacklist.export import export_response
from blacklist.models import BlacklistEntry, BlacklistEvent, BlacklistSource
from blacklist.services import REMOVABLE_SOURCES, blacklist_numbers, blacklist_remove
from campaigns.api.messages import PhoneField
from campaigns.phone import normalize_number
from smsplatform.api.fields import StrictCharField
from smsplatform.api.filters import query_values
from smsplatform.api.schema import conflict
from smsplatform.api.views import AccountAPIView

MAX_NUMBERS = 1000

# -- serializers ------------------------------------------------------------------------


class BlacklistFilterIn(serializers.Serializer):
    """The page's filters, as query parameters."""

    q = serializers.CharField(required=False, allow_blank=True, help_text="Part of the number.")
    source = serializers.ChoiceField(choices=BlacklistSource.choices, required=False)
    since = serializers.DateField(required=False, help_text="Added on or after this day.")
    until = serializers.DateField(required=False, help_text="Added on or before this day.")


def read_filters(request: Request) -> selectors.BlacklistFilter:
    """The page's filters from the query string (422 if one cannot be read)."""
    filters = BlacklistFilterIn(data=query_values(request, BlacklistFilterIn, text={"q"}))
    filters.is_valid(raise_exception=True)
    data = filters.validated_data
    return selectors.BlacklistFilter(
        search=data.get("q", ""),
        source=data.get("source", ""),
        since=data.get("since"),
        until=data.get("until"),
    )


class BlacklistAddIn(serializers.Serializer):
    numbers = serializers.ListField(
        child=PhoneField(),
        min_length=1,
        max_length=MAX_NUMBERS,
        help_text="Up to 1,000 numbers; one that cannot be read refuses the request.",
    )
    note = StrictCharField(max_length=200, required=False, allow_blank=True)


class BlacklistRemoveIn(serializers.Serializer):
    reason = StrictCharField(
        max_length=255, help_text="Kept in the number's history: why it may receive again."
    )


class BlacklistEventOut(serializers.ModelSerializer):
    action = serializers.ChoiceField(choices=BlacklistEvent.Action.choices)
    source = serializers.ChoiceField(choices=BlacklistSource.choices)

    class Meta:
        model = BlacklistEvent
        fields = ["action", "source", "reason", "at"]


class BlacklistEntryOut(serializers.ModelSerializer):
    source = serializers.ChoiceField(choices=BlacklistSource.choices)
    removable = serializers.SerializerMethodField()

    class Meta:
        model = BlacklistEntry
        fields = ["id", "phone_number", "source", "note", "created_at", "removable"]

    @extend_schema_field(serializers.BooleanField())
    def get_removable(self, entry: BlacklistEntry) -> bool:
        return entry.source in REMOVABLE_SOURCES


class BlacklistEntryDetailOut(BlacklistEntryOut):
    history = serializers.SerializerMethodField()

    class Meta(BlacklistEntryOut.Meta):
        fields = [*BlacklistEntryOut.Meta.fields, "history"]

    @extend_schema_field(BlacklistEventOut(many=True))
    def get_history(self, entry: BlacklistEntry) -> list[dict[str, Any]]:
        events = selectors.blacklist_history(account=entry.account, phone_number=entry.phone_number)
        return list(BlacklistEventOut(events, many=True).data)


class BlacklistAddOut(serializers.Serializer):
    added = BlacklistEntryOut(many=True, help_text="The entries this call created.")
    already = serializers.ListField(
        child=serializers.CharField(), help_text="Numbers that were on the Blacklist already."
    )


ENTRY_EXAMPLE = {
    "id": 12,
    "phone_number": "+33612345678",
    "source": "api",
    "note": "asked by phone",
    "created_at": "2026-11-30T10:00:00+01:00",
    "removable": True,
}

# -- views --------------------------------------------------------------------------------


class BlacklistView(AccountAPIView):
    queryset = BlacklistEntry.objects.none()

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return BlacklistAddIn if self.request.method == "POST" else BlacklistEntryOut

    def scoped_queryset(self) -> QuerySet[BlacklistEntry]:
        return selectors.blacklist_list(account=self.account, filters=read_filters(self.request))

    @extend_schema(
        tags=["blacklist"],
        summary="Numbers the account must never message, newest first",
        parameters=[BlacklistFilterIn],
        responses=BlacklistEntryOut(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(BlacklistEntryOut(page, many=True).data)

    @extend_schema(
        tags=["blacklist"],
        summary="Put numbers on the Blacklist",
        description=(
            "Source `api`. No confirmation SMS (the numbers' owners did not write to us). "
            "Their queued single messages are cancelled and refunded; campaigns skip them."
        ),
        request=BlacklistAddIn,
        responses={201: BlacklistAddOut},
        examples=[
            OpenApiExample(
                "Add",
                value={"numbers": ["06 12 34 56 78"], "note": "asked by phone"},
                request_only=True,
            ),
            OpenApiExample(
                "Added",
                value={"added": [ENTRY_EXAMPLE], "already": []},
                response_only=True,
                status_codes=[201],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validated(BlacklistAddIn)
        numbers = list(dict.fromkeys(normalize_number(raw).e164 for raw in data["numbers"]))
        added = blacklist_numbers(
            account=self.account,
            numbers=numbers,
            source=BlacklistSource.API,
            actor=self.actor(),
            note=data.get("note", ""),
        )
        created = {entry.phone_number for entry in added}
        body = {"added": added, "already": [n for n in numbers if n not in created]}
        return Response(BlacklistAddOut(body).data, status=201)


class BlacklistEntryView(AccountAPIView):
    serializer_class = BlacklistEntryDetailOut

    @extend_schema(
        tags=["blacklist"],
        summary="One entry with its history",
        responses=BlacklistEntryDetailOut,
    )
    def get(self, request: Request, pk: int) -> Response:
        entry = selectors.blacklist_get(account=self.account, pk=pk)
        return Response(BlacklistEntryDetailOut(entry).data)


class BlacklistRemoveView(AccountAPIView):
    serializer_class = BlacklistRemoveIn

    @extend_schema(
        tags=["blacklist"],
        summary="Take a number the account added off the Blacklist",
        description=(
            "Only entries the account added itself (sources `manual` and `api`); a STOP, "
            "the unsubscribe page, support or an import is the recipient's decision: 409 "
            "`not_removable`. The reason is kept in the number's history."
        ),
        request=BlacklistRemoveIn,
        responses={204: None, 409: conflict("Not an entry the account added (`not_removable`).")},
    )
    def post(self, request: Request, pk: int) -> Response:
        entry = selectors.blacklist_get(account=self.account, pk=pk)
        data = self.validated(BlacklistRemoveIn)
        if not data["reason"].strip():
            raise serializers.ValidationError({"reason": [_("Say why.")]})
        blacklist_remove(entry=entry, actor=self.actor(), reason=data["reason"].strip())
        return Response(status=204)


class CSVRenderer(BaseRenderer):
    """Lets a client ask for `Accept: text/csv`; the view streams the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data).encode()  # only an error goes through here


class BlacklistExportView(AccountAPIView):
    serializer_class = None
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        tags=["blacklist"],
        summary="The Blacklist as CSV (the page's export)",
        description="`;`-separated UTF-8 with a byte-order mark, as Excel opens it; cells "
        "a spreadsheet would run as formulas are quoted. The list's filters apply.",
        parameters=[BlacklistFilterIn],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                examples=[
                    OpenApiExample(
                        "CSV",
                        value="\ufeffNumber;Source;Added;Note\r\n"
                        "+33612345678;API;2026-11-30 10:00;asked by phone\r\n",
                    )
                ],
            )
        },
    )
    def get(self, request: Request) -> Any:
        return export_response(
            selectors.blacklist_list(account=self.account, filters=read_filters(request))
        )
