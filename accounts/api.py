"""REST endpoints of the accounts app: the balance and the ledger."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import CreditEntry, EntryKind
from accounts.selectors import ledger_entries
from smsplatform.api.pagination import Cursor
from smsplatform.api.views import AccountAPIView


class BalanceOut(serializers.Serializer):
    balance = serializers.IntegerField(help_text="Credits left: the sum of the ledger's entries.")


class LedgerEntryOut(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=EntryKind.choices)

    class Meta:
        model = CreditEntry
        fields = ["id", "amount", "kind", "reference", "balance_after", "note", "created_at"]
        extra_kwargs = {
            "amount": {"help_text": "Signed: negative for a debit."},
            "reference": {
                "help_text": "Unique per operation: `message:981`, `campaign:42:launch`."
            },
        }


class BalanceView(AccountAPIView):
    @extend_schema(
        tags=["credits"],
        summary="The account's credit balance",
        responses=BalanceOut,
        examples=[OpenApiExample("Balance", value={"balance": 982}, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        return Response(BalanceOut({"balance": self.account.credit_balance}).data)


class LedgerView(AccountAPIView):
    serializer_class = LedgerEntryOut
    pagination_class = Cursor
    queryset = CreditEntry.objects.none()

    def scoped_queryset(self) -> Any:
        return ledger_entries(account=self.account)

    @extend_schema(
        tags=["credits"],
        summary="The ledger: every movement of credits, newest first",
        responses=LedgerEntryOut(many=True),
        examples=[
            OpenApiExample(
                "A debit",
                value={
                    "id": 981,
                    "amount": -1,
                    "kind": "message",
                    "reference": "message:5521",
                    "balance_after": 982,
                    "note": "SMS to +33612345678",
                    "created_at": "2026-11-30T10:15:02.120000+01:00",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
