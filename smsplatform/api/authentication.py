"""API keys sent as `Authorization: Bearer <key>`; the browser's session works too."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.models import ApiKey
from accounts.selectors import api_key_for_secret
from accounts.services import api_key_touch

BEARER = b"bearer"
MAX_KEY_LENGTH = 200


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer smsk_…`: `request.auth` is the ApiKey, and `request.user`
    the person who created it (anonymous if they are gone: the key acts for the account,
    not for a person)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != BEARER:
            return None  # no key: the session authentication may still apply
        if len(parts) != 2 or len(parts[1]) > MAX_KEY_LENGTH:
            raise exceptions.AuthenticationFailed(
                _("Send the key as `Authorization: Bearer <key>`, with nothing else.")
            )
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Unknown or revoked API key.")) from None
        key = api_key_for_secret(raw=raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Unknown or revoked API key."))
        api_key_touch(key=key)
        return (key.created_by or AnonymousUser()), key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) with `WWW-Authenticate: Bearer` without a key.
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "smsplatform.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key created on the customer area's API page.",
        }
