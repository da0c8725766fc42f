"""The base of every endpoint: which account the request acts for, in its time zone."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponseBase
from django.utils import timezone
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.serializers import Serializer

from accounts.models import Account
from smsplatform.api.permissions import HasAccount


class AccountAPIView(GenericAPIView):
    """An endpoint acting for `request.account`; dates read in the account's time zone."""

    permission_classes = [HasAccount]
    # No OPTIONS (the schema describes the API): `Allow` then says what is served.
    http_method_names = ["get", "post", "patch", "delete", "head"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        timezone.activate(zoneinfo.ZoneInfo(request.account.timezone))  # type: ignore[attr-defined]

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset  # drawing the schema: there is no account
        return self.scoped_queryset()

    def scoped_queryset(self) -> QuerySet:
        """The account's rows (a selector): lists and filters start from here."""
        raise NotImplementedError

    @property
    def account(self) -> Account:
        return self.request.account  # type: ignore[attr-defined]

    def validated(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        """The request body read by `serializer_class`; a 400 with the field errors if not."""
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def actor(self) -> Any:
        """The person behind the request, for audit fields (None for an orphaned key)."""
        user = self.request.user
        return user if user and user.is_authenticated else None
