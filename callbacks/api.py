"""`/api/v1/callbacks`: register, read, change and remove callback URLs, each with the
outcome of its last call."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from callbacks import selectors, services
from callbacks.models import CallbackEndpoint, CallbackEvent
from smsplatform.api.fields import StrictBooleanField, StrictCharField
from smsplatform.api.views import AccountAPIView

EVENTS_HELP = (
    "`message.status`: a message was delivered or failed (its delivery report). "
    "`inbound`: a reply attributed to the account, STOPs included."
)


class CallbackIn(serializers.Serializer):
    url = StrictCharField(max_length=500, help_text="http:// or https://")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=CallbackEvent.choices),
        min_length=1,
        max_length=len(CallbackEvent.values),
        help_text=EVENTS_HELP,
    )


class CallbackPatchIn(serializers.Serializer):
    url = StrictCharField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=CallbackEvent.choices),
        min_length=1,
        max_length=len(CallbackEvent.values),
        required=False,
    )
    active = StrictBooleanField(required=False, help_text="Pause (false) or resume the calls.")


class CallbackOut(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=CallbackEvent.choices))
    last_status = serializers.IntegerField(
        allow_null=True, help_text="HTTP status of the last call (null: no answer, or none yet)."
    )

    class Meta:
        model = CallbackEndpoint
        fields = [
            "id",
            "url",
            "events",
            "active",
            "secret_hint",
            "created_at",
            "last_status",
            "last_at",
            "last_error",
        ]


class CallbackCreatedOut(CallbackOut):
    secret = serializers.CharField(
        help_text="The signing secret, shown once: keep it to check `X-Signature`."
    )

    class Meta(CallbackOut.Meta):
        fields = [*CallbackOut.Meta.fields, "secret"]


class CallbacksView(AccountAPIView):
    queryset = CallbackEndpoint.objects.none()

    def scoped_queryset(self) -> QuerySet[CallbackEndpoint]:
        return selectors.callback_list(account=self.account)

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return CallbackIn if self.request.method == "POST" else CallbackOut

    @extend_schema(
        tags=["callbacks"],
        summary="The account's callback URLs, with their last result",
        responses=CallbackOut(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CallbackOut(page, many=True).data)

    @extend_schema(
        tags=["callbacks"],
        summary="Register a callback URL",
        description=(
            "Each event is POSTed as JSON `{id, type, created_at, data}` with "
            "`X-Signature-Timestamp` (Unix seconds) and `X-Signature`: "
            'hex(HMAC-SHA256(secret, "<timestamp>." + body)). A non-2xx answer is '
            "retried with exponential backoff. The secret is in this answer only."
        ),
        request=CallbackIn,
        responses={201: CallbackCreatedOut},
        examples=[
            OpenApiExample(
                "Register",
                value={"url": "https://shop.example/sms-events", "events": ["message.status"]},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validated(CallbackIn)
        endpoint, secret = services.callback_create(
            account=self.account, url=data["url"], events=data["events"], created_by=self.actor()
        )
        endpoint.secret = secret  # type: ignore[attr-defined]
        return Response(CallbackCreatedOut(endpoint).data, status=201)


class CallbackDetailView(AccountAPIView):
    serializer_class = CallbackPatchIn

    def endpoint(self, pk: int) -> CallbackEndpoint:
        return selectors.callback_get(account=self.account, pk=pk)

    @extend_schema(tags=["callbacks"], summary="One callback URL", responses=CallbackOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(CallbackOut(self.endpoint(pk)).data)

    @extend_schema(
        tags=["callbacks"],
        summary="Change a callback URL, its events, or pause it",
        request=CallbackPatchIn,
        responses=CallbackOut,
    )
    def patch(self, request: Request, pk: int) -> Response:
        endpoint = self.endpoint(pk)
        data: dict[str, Any] = self.validated(CallbackPatchIn)
        services.callback_update(
            endpoint=endpoint,
            url=data.get("url"),
            events=data.get("events"),
            active=data.get("active"),
        )
        return Response(CallbackOut(endpoint).data)

    @extend_schema(tags=["callbacks"], summary="Remove a callback URL", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.callback_delete(endpoint=self.endpoint(pk))
        return Response(status=204)
