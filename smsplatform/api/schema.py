"""OpenAPI: every operation documents the error shape for the refusals it can answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from smsplatform.api.idempotency import KEY_REGEX


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: `insufficient_credits`, …")
    message = serializers.CharField(help_text="For people.")
    details = serializers.DictField(
        help_text='Field errors (`{"to": ["…"]}`) or the figures of the refusal.'
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description, examples=list(examples))


INVALID = error(
    "Invalid input: `details` lists the errors per field (code `invalid`), or a rule "
    "refuses the request (`stop_mention_required`, `number_blacklisted`…). Nothing was "
    "changed.",
    OpenApiExample(
        "A field error",
        value={
            "error": {
                "code": "invalid",
                "message": "Some fields are missing or invalid.",
                "details": {"to": ["This is not a phone number."]},
            }
        },
    ),
)
COMMON_ERRORS: dict[str, OpenApiResponse] = {
    "400": error("The body is not readable JSON (`parse_error`), or a header is malformed."),
    "401": error("No key, or an unknown or revoked one."),
    "403": error("The user behind the session belongs to no account (or lacks the role)."),
    "404": error("Not found: unknown, or another account's."),
    "422": INVALID,
    "429": error("Too many requests for this key: see `details.retry_after` (seconds)."),
}
INSUFFICIENT_CREDITS = error(
    "Not enough credits: `details` has `needed` and `available`. Nothing was sent or debited.",
    OpenApiExample(
        "Too few credits",
        value={
            "error": {
                "code": "insufficient_credits",
                "message": "Not enough credits: 120 needed, 80 available.",
                "details": {"needed": 120, "available": 80},
            }
        },
    ),
)


def conflict(description: str) -> OpenApiResponse:
    return error(description)


IDEMPOTENCY_REUSED = error(
    "The Idempotency-Key was used for another request (code `idempotency_key_reused`)."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    pattern=KEY_REGEX,
    description=(
        "Any unique string (a UUID) per operation: a retry with the same key gets the "
        "first answer (with `Idempotent-Replayed: true`) and changes nothing more; the "
        "same key with another body is refused (409). Kept 24 hours."
    ),
)


class SmsAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:  # type: ignore[override]
        responses = super()._get_response_bodies(direction)
        for code, response in COMMON_ERRORS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses
