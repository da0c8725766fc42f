"""`/api/v1/campaigns`: create, read, list, launch (idempotent), pause, resume, cancel,
statistics. The same services as the customer area's pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.errors import StopMentionRequired
from campaigns import lifecycle
from campaigns.api.messages import (
    STOP_MENTION_HELP,
    PhoneField,
    SenderField,
    SendingView,
    TextField,
)
from campaigns.errors import CampaignError
from campaigns.launch import check_fields, launch_campaign
from campaigns.models import Campaign, CampaignStatus, ContactList
from campaigns.phone import normalize_number
from campaigns.selectors import campaign_get, campaign_list, campaign_progress
from campaigns.services import MAX_SCHEDULE_AHEAD, PAST_TOLERANCE
from smsplatform.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from smsplatform.api.filters import StrictFilterSet
from smsplatform.api.idempotency import HEADER, clean_key, idempotency_execute
from smsplatform.api.schema import IDEMPOTENCY_KEY, INSUFFICIENT_CREDITS, conflict
from smsplatform.api.views import AccountAPIView

BAD_STATE = conflict("The campaign's status does not allow it (`bad_state`).")
MAX_TYPED_NUMBERS = 1000  # as the compose page: import longer lists as contacts
MAX_LISTS = 100

# -- serializers ------------------------------------------------------------------------


class CampaignIn(serializers.Serializer):
    name = StrictCharField(max_length=120, help_text="For you only; recipients never see it.")
    text = TextField(
        help_text="The message; `{first_name}`, `{last_name}` or an import column such as "
        "`{city}` are filled per recipient. The STOP mention is added as the rules say."
    )
    sender = SenderField()
    lists = serializers.ListField(
        child=StrictIntegerField(min_value=1),
        required=False,
        default=list,
        max_length=MAX_LISTS,
        help_text="Ids of the account's contact lists.",
    )
    all_contacts = StrictBooleanField(required=False, default=False)
    numbers = serializers.ListField(
        child=PhoneField(),
        required=False,
        default=list,
        max_length=MAX_TYPED_NUMBERS,
        help_text="Numbers typed directly (up to 1,000).",
    )
    stop_mention = StrictBooleanField(
        required=False, allow_null=True, default=None, help_text=STOP_MENTION_HELP
    )
    send_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Schedule the launch's sending (ISO 8601 with its offset).",
    )

    def validate_lists(self, ids: list[int]) -> list[ContactList]:
        account = self.context["account"]
        found = {item.pk: item for item in ContactList.objects.filter(account=account, pk__in=ids)}
        unknown = [pk for pk in dict.fromkeys(ids) if pk not in found]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown contact list: %(ids)s.") % {"ids": ", ".join(map(str, unknown))}
            )
        return [found[pk] for pk in dict.fromkeys(ids)]

    def validate_send_at(self, value: Any) -> Any:
        if value is None:
            return None
        now = timezone.now()
        if value < now - PAST_TOLERANCE:
            raise serializers.ValidationError(_("This time is in the past."))
        if value > now + MAX_SCHEDULE_AHEAD:
            raise serializers.ValidationError(_("A campaign can be scheduled up to a year ahead."))
        return value

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not (data["lists"] or data["all_contacts"] or data["numbers"]):
            raise serializers.ValidationError(
                _("Choose recipients: a contact list, all your contacts or typed numbers.")
            )
        draft = Campaign(account=self.context["account"], text=data["text"])
        try:
            check_fields(draft)
        except CampaignError as error:
            raise serializers.ValidationError({"text": [error.message]}) from None
        return data


class CampaignOut(serializers.ModelSerializer):
    sender = serializers.CharField(source="sender_id")
    lists = serializers.SerializerMethodField()
    numbers = serializers.SerializerMethodField()
    stop_mention = serializers.BooleanField(
        source="add_stop_mention", help_text="Whether the messages carry the STOP mention."
    )
    send_at = serializers.DateTimeField(source="scheduled_at", allow_null=True)
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    recipients = serializers.IntegerField(source="recipient_count")
    excluded = serializers.IntegerField(
        source="excluded_count", help_text="Left out at launch: on the Blacklist."
    )
    no_consent = serializers.IntegerField(source="no_consent_count")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "status",
            "sender",
            "text",
            "lists",
            "all_contacts",
            "numbers",
            "stop_mention",
            "send_at",
            "created_at",
            "launched_at",
            "started_at",
            "completed_at",
            "recipients",
            "excluded",
            "no_consent",
            "credits",
            "french_not_before",
        ]
        extra_kwargs = {
            "credits": {"help_text": "Debited at launch (refunds are in the ledger)."},
            "french_not_before": {
                "help_text": "When the French messages may leave (legal sending hours)."
            },
        }

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_lists(self, campaign: Campaign) -> list[int]:
        return sorted(item.pk for item in campaign.lists.all())

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_numbers(self, campaign: Campaign) -> list[str]:
        return [e164 for e164, _region in campaign.numbers]


class CancelOut(serializers.Serializer):
    campaign = CampaignOut()
    refunded = serializers.IntegerField(help_text="Credits of the unsent messages, given back.")


class StatisticsOut(serializers.Serializer):
    total = serializers.IntegerField()
    queued = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField(help_text="Handed to the gateway, no final report yet.")
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Numbers blacklisted since the launch.")
    cancelled = serializers.IntegerField()
    unknown = serializers.IntegerField(
        help_text="Submitted, but the gateway did not answer: settled by the delivery "
        "report or by support staff, never sent twice."
    )
    parked = serializers.IntegerField(
        help_text="Held for support staff: the message's batch kept failing."
    )
    delivery_rate = serializers.FloatField(
        allow_null=True, help_text="Delivered among the messages with a final report, in %."
    )


class CampaignFilter(StrictFilterSet):
    class Meta:
        model = Campaign
        fields = ["status"]


CAMPAIGN_EXAMPLE = {
    "id": 42,
    "name": "Black Friday",
    "status": "sending",
    "sender": "PAUL",
    "text": "-30 % sur tout ce week-end, {first_name} !",
    "lists": [3],
    "all_contacts": False,
    "numbers": [],
    "stop_mention": True,
    "send_at": None,
    "created_at": "2026-11-27T09:00:00+01:00",
    "launched_at": "2026-11-27T09:05:00+01:00",
    "started_at": "2026-11-27T09:05:00+01:00",
    "completed_at": None,
    "recipients": 1250,
    "excluded": 4,
    "no_consent": 0,
    "credits": 1262,
    "french_not_before": None,
}


# -- views --------------------------------------------------------------------------------


class CampaignAPIView(AccountAPIView):
    queryset = Campaign.objects.none()

    def scoped_queryset(self) -> QuerySet[Campaign]:
        return campaign_list(account=self.account).prefetch_related("lists")

    def campaign(self, pk: int) -> Campaign:
        return campaign_get(account=self.account, pk=pk)


class CampaignsView(CampaignAPIView, SendingView):
    filterset_class = CampaignFilter

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return CampaignIn if self.request.method == "POST" else CampaignOut

    @extend_schema(
        tags=["campaigns"],
        summary="The account's campaigns, newest first",
        responses=CampaignOut(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CampaignOut(page, many=True).data)

    @extend_schema(
        tags=["campaigns"],
        summary="Create a draft campaign",
        description="Nothing is sent or debited until it is launched. A Marketing account "
        "cannot turn the STOP mention off (`stop_mention_required`).",
        request=CampaignIn,
        responses={201: CampaignOut},
        examples=[
            OpenApiExample(
                "A draft",
                value={
                    "name": "Black Friday",
                    "text": "-30 % sur tout ce week-end, {first_name} !",
                    "lists": [3],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = CampaignIn(data=request.data, context={"account": self.account})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if self.account.is_marketing and data["stop_mention"] is False:
            raise StopMentionRequired()
        campaign = lifecycle.campaign_create(
            account=self.account,
            name=data["name"].strip(),
            text=data["text"].replace("\r\n", "\n"),
            sender_id=(
                self.account.default_sender_id if data.get("sender") is None else data["sender"]
            ),
            lists=data["lists"],
            all_contacts=data["all_contacts"],
            numbers=[normalize_number(raw) for raw in data["numbers"]],
            add_stop_mention=(
                self.account.add_stop_mention
                if data["stop_mention"] is None
                else data["stop_mention"]
            ),
            scheduled_at=data["send_at"],
            created_by=self.actor(),
        )
        return Response(CampaignOut(campaign).data, status=201)


class CampaignDetailView(CampaignAPIView):
    serializer_class = CampaignOut

    @extend_schema(
        tags=["campaigns"],
        summary="One campaign",
        responses=CampaignOut,
        examples=[OpenApiExample("A campaign", value=CAMPAIGN_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(CampaignOut(self.campaign(pk)).data)


class CampaignLaunchView(CampaignAPIView, SendingView):
    serializer_class = None

    @extend_schema(
        tags=["campaigns"],
        summary="Launch a draft: write its messages, debit once, send or schedule",
        description=(
            "Recipients are fixed now, Blacklisted numbers left out, every message "
            "composed and priced, the total debited once. Too few credits: 402 with "
            "`needed` and `available`, nothing written. Not a draft, or no recipient "
            "left: 409. Send an `Idempotency-Key` to retry safely."
        ),
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: CampaignOut,
            402: INSUFFICIENT_CREDITS,
            409: conflict(
                "Not a draft (`not_draft`), no recipient left (`no_recipients`), or the "
                "Idempotency-Key was used for another request (`idempotency_key_reused`)."
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = self.campaign(pk)

        def launch() -> tuple[int, dict[str, Any]]:
            launch_campaign(campaign)
            return 200, dict(CampaignOut(campaign).data)

        answer = idempotency_execute(
            account=self.account,
            key=clean_key(request.headers.get(HEADER)),
            operation="campaigns.launch",
            data={"campaign": campaign.pk},
            run=launch,
        )
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
        return Response(answer.body, status=answer.status, headers=headers)


class _ActionView(CampaignAPIView):
    serializer_class = None


class CampaignPauseView(_ActionView):
    @extend_schema(
        tags=["campaigns"],
        summary="Pause: no more messages are handed to the gateway",
        request=None,
        responses={200: CampaignOut, 409: BAD_STATE},
    )
    def post(self, request: Request, pk: int) -> Response:
        return Response(CampaignOut(lifecycle.campaign_pause(self.campaign(pk))).data)


class CampaignResumeView(_ActionView):
    @extend_schema(
        tags=["campaigns"],
        summary="Resume a paused campaign",
        request=None,
        responses={200: CampaignOut, 409: BAD_STATE},
    )
    def post(self, request: Request, pk: int) -> Response:
        return Response(CampaignOut(lifecycle.campaign_resume(self.campaign(pk))).data)


class CampaignCancelView(_ActionView):
    @extend_schema(
        tags=["campaigns"],
        summary="Cancel: what was not handed over is cancelled and refunded",
        request=None,
        responses={200: CancelOut, 409: BAD_STATE},
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign, refunded = lifecycle.campaign_cancel(self.campaign(pk))
        return Response(CancelOut({"campaign": campaign, "refunded": refunded}).data)


class CampaignStatisticsView(CampaignAPIView):
    serializer_class = StatisticsOut

    @extend_schema(
        tags=["campaigns"],
        summary="Messages counted by status, and the delivery rate",
        responses=StatisticsOut,
        examples=[
            OpenApiExample(
                "Statistics",
                value={
                    "total": 1250,
                    "queued": 0,
                    "sending": 0,
                    "sent": 12,
                    "delivered": 1220,
                    "failed": 14,
                    "skipped": 4,
                    "cancelled": 0,
                    "unknown": 0,
                    "parked": 0,
                    "delivery_rate": 98.9,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, pk: int) -> Response:
        progress = campaign_progress(self.campaign(pk))
        figures = {name: getattr(progress, name) for name in StatisticsOut().fields}
        return Response(StatisticsOut(figures).data)
