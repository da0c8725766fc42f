"""`/api/v1/messages`: preview, send one SMS (idempotent), read and list messages."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from accounts.errors import StopMentionRequired
from campaigns.models import Message, MessageState
from campaigns.phone import InvalidNumber, normalize_number
from campaigns.preview import compose_one, composition_json
from campaigns.selectors import message_get, message_list
from campaigns.services import MAX_TEXT_LENGTH, message_send
from campaigns.text import Encoding
from campaigns.validators import sender_id_validator
from smsplatform.api.fields import StrictBooleanField, StrictCharField
from smsplatform.api.filters import IntegerFilter, StrictFilterSet
from smsplatform.api.idempotency import HEADER, clean_key, idempotency_execute
from smsplatform.api.pagination import Cursor
from smsplatform.api.schema import IDEMPOTENCY_KEY, IDEMPOTENCY_REUSED, INSUFFICIENT_CREDITS
from smsplatform.api.throttling import SendThrottle
from smsplatform.api.views import AccountAPIView

# -- serializers ------------------------------------------------------------------------


def phone_number(value: str) -> str:
    """A typed number to E.164 (French national numbers read as French)."""
    try:
        return normalize_number(value).e164
    except InvalidNumber as error:
        raise serializers.ValidationError(error.message, code=error.code) from None


class PhoneField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault(
            "help_text",
            "A phone number: E.164 (`+33612345678`) or French national (`06 12 34 56 78`).",
        )
        super().__init__(**kwargs)
        self.validators.append(phone_number)


class TextField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_TEXT_LENGTH)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if isinstance(data, str) and not data.strip():
            self.fail("blank")
        return super().validate_empty_values(data)


class SenderField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 15)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault(
            "help_text",
            "3 to 11 letters and digits with at least one letter, or up to 15 digits. "
            "Default: the account's sender ID.",
        )
        super().__init__(**kwargs)
        self.validators.append(self._check)

    @staticmethod
    def _check(value: str) -> None:
        if value:
            try:
                sender_id_validator(value)
            except Exception as error:  # django's ValidationError: DRF's own, same text
                raise serializers.ValidationError(list(getattr(error, "messages", []))) from None


STOP_MENTION_HELP = (
    "Add the STOP SMS mention (French law). Default: the account's setting. A Marketing "
    "account always carries it: `false` is refused (`stop_mention_required`)."
)


class PreviewIn(serializers.Serializer):
    to = PhoneField()
    text = TextField(help_text="The message as typed, without the STOP mention.")
    stop_mention = StrictBooleanField(
        required=False, allow_null=True, default=None, help_text=STOP_MENTION_HELP
    )


class NonGsmCharOut(serializers.Serializer):
    char = serializers.CharField()
    count = serializers.IntegerField()
    replacement = serializers.CharField(allow_null=True)
    fidelity = serializers.CharField(allow_null=True)


class PreviewOut(serializers.Serializer):
    to = serializers.CharField(help_text="E.164")
    region = serializers.CharField(help_text="ISO 3166 country of the number")
    text_sent = serializers.CharField(help_text="Exactly what the phone receives.")
    encoding = serializers.ChoiceField(choices=[e.value for e in Encoding])
    units = serializers.IntegerField(help_text="Septets (GSM-7) or UTF-16 code units (UCS-2).")
    segments = serializers.IntegerField(help_text="SMS billed.")
    credits = serializers.IntegerField()
    mention = serializers.CharField(allow_null=True, help_text="The STOP mention added, if any.")
    non_gsm_chars = NonGsmCharOut(many=True)


class MessageIn(serializers.Serializer):
    to = PhoneField()
    text = TextField(help_text="The message as typed; the STOP mention is added as the rules say.")
    sender = SenderField()
    stop_mention = StrictBooleanField(
        required=False, allow_null=True, default=None, help_text=STOP_MENTION_HELP
    )
    send_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "Send later (ISO 8601 with its offset). A Marketing account's French messages "
            "also wait for the legal sending hours."
        ),
    )


class MessageOut(serializers.ModelSerializer):
    to = serializers.CharField(source="phone_number")
    sender = serializers.CharField(source="sender_id")
    text = serializers.CharField(help_text="The text as sent, STOP mention included.")
    encoding = serializers.SerializerMethodField()
    status = serializers.ChoiceField(source="state", choices=MessageState.choices)
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "to",
            "region",
            "sender",
            "text",
            "encoding",
            "segments",
            "credits",
            "status",
            "campaign",
            "not_before",
            "created_at",
            "sent_at",
            "report_at",
            "error",
        ]
        extra_kwargs = {
            "not_before": {"help_text": "Not handed to the gateway before this time."},
            "report_at": {"help_text": "When the last delivery report arrived."},
        }

    @extend_schema_field(serializers.ChoiceField(choices=[e.value for e in Encoding]))
    def get_encoding(self, message: Message) -> str:
        return (Encoding.UCS2 if message.ucs2 else Encoding.GSM7).value


class MessageFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(field_name="state", choices=MessageState.choices)
    to = django_filters.CharFilter(method="filter_to", label="Phone number (any format)")
    campaign = IntegerFilter(field_name="campaign_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = ["status", "to", "campaign", "created_after", "created_before"]

    def filter_to(self, queryset: QuerySet[Message], name: str, value: str) -> QuerySet[Message]:
        try:
            return queryset.filter(phone_number=normalize_number(value).e164)
        except InvalidNumber:
            return queryset.none()  # no message goes to a number that cannot exist


# -- examples -----------------------------------------------------------------------------

MESSAGE_EXAMPLE = {
    "id": 5521,
    "to": "+33612345678",
    "region": "FR",
    "sender": "PAUL",
    "text": "Vos croissants sont prêts ! STOP 36034",
    "encoding": "UCS-2",
    "segments": 1,
    "credits": 1,
    "status": "queued",
    "campaign": None,
    "not_before": None,
    "created_at": "2026-11-30T10:15:02.120000+01:00",
    "sent_at": None,
    "report_at": None,
    "error": "",
}
PREVIEW_EXAMPLE = {
    "to": "+33612345678",
    "region": "FR",
    "text_sent": "Soldes d’été STOP 36034",
    "encoding": "UCS-2",
    "units": 23,
    "segments": 1,
    "credits": 1,
    "mention": "STOP 36034",
    "non_gsm_chars": [{"char": "’", "count": 1, "replacement": "'", "fidelity": "same"}],
}


# -- views --------------------------------------------------------------------------------


class SendingView(AccountAPIView):
    """POSTs that send count against the send rate too."""

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(SendThrottle())
        return throttles


class MessagePreviewView(AccountAPIView):
    serializer_class = PreviewIn

    @extend_schema(
        tags=["messages"],
        summary="What one SMS would send and cost, without sending it",
        description=(
            "The same figures as the compose page's preview: the text as sent with the STOP "
            "mention of the number's country, encoding, units, segments and credits, and "
            "the characters that force UCS-2 with their GSM replacements."
        ),
        request=PreviewIn,
        responses={200: PreviewOut},
        examples=[
            OpenApiExample(
                "Preview", value={"to": "06 12 34 56 78", "text": "Soldes d’été"}, request_only=True
            ),
            OpenApiExample("Preview", value=PREVIEW_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validated(PreviewIn)
        if self.account.is_marketing and data["stop_mention"] is False:
            raise StopMentionRequired()
        number = normalize_number(data["to"])
        composition = compose_one(
            self.account, data["text"], region=number.region, requested=data["stop_mention"]
        )
        body = composition_json(composition, to=number.e164, region=number.region)
        return Response(PreviewOut(body).data)


class MessagesView(SendingView):
    filterset_class = MessageFilter
    pagination_class = Cursor
    queryset = Message.objects.none()

    def scoped_queryset(self) -> QuerySet[Message]:
        return message_list(account=self.account)

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return MessageIn if self.request.method == "POST" else MessageOut

    @extend_schema(
        tags=["messages"],
        summary="The account's messages, newest first",
        description="Single messages and campaign messages; filter by status, number, "
        "campaign and creation time. Cursor pagination: follow `next`.",
        responses=MessageOut(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(MessageOut(page, many=True).data)

    @extend_schema(
        tags=["messages"],
        summary="Send one SMS, now or later",
        description=(
            "Checks the number, refuses it if it is on the account's Blacklist "
            "(`number_blacklisted`), adds the STOP mention as the account's rules say (a "
            "Marketing account asking for none is refused: `stop_mention_required`), "
            "debits the credits once (`insufficient_credits`, 402, with the figures) and "
            "queues the message. A Marketing account's French messages wait for the "
            "legal sending hours (`not_before`). Send an `Idempotency-Key` to retry "
            "safely."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=MessageIn,
        responses={
            201: MessageOut,
            402: INSUFFICIENT_CREDITS,
            409: IDEMPOTENCY_REUSED,
        },
        examples=[
            OpenApiExample(
                "Send",
                value={"to": "06 12 34 56 78", "text": "Vos croissants sont prêts !"},
                request_only=True,
            ),
            OpenApiExample("Queued", value=MESSAGE_EXAMPLE, response_only=True, status_codes=[201]),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validated(MessageIn)
        account = self.account

        def send() -> tuple[int, dict[str, Any]]:
            message = message_send(
                account=account,
                to=data["to"],
                text=data["text"],
                sender=data.get("sender"),
                stop_mention=data["stop_mention"],
                send_at=data["send_at"],
            )
            return 201, dict(MessageOut(message).data)

        answer = idempotency_execute(
            account=account,
            key=clean_key(request.headers.get(HEADER)),
            operation="messages.create",
            data=request.data,
            run=send,
        )
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
        return Response(answer.body, status=answer.status, headers=headers)


class MessageDetailView(AccountAPIView):
    serializer_class = MessageOut

    @extend_schema(
        tags=["messages"],
        summary="One message: its text as sent, cost and status",
        responses=MessageOut,
        examples=[OpenApiExample("A message", value=MESSAGE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(MessageOut(message_get(account=self.account, pk=pk)).data)
