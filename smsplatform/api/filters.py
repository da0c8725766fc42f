"""Query filters that refuse what their schema refuses.

django-filter ignores an empty value (`?created_after=`) and Django reads the last of
repeated ones (`?status=a&status=b`); the schema says each parameter is one date-time
(or number, or one of a list), so both are refused."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class StrictFilterSet(django_filters.FilterSet):
    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, declared in self.filters.items():
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            if len(values) > 1:
                self.form.add_error(name, _("Give this parameter once."))
                valid = False
            elif (
                not isinstance(declared, django_filters.CharFilter)
                and name in self.data
                and self.data.get(name) == ""
            ):
                self.form.add_error(name, _("Give a value, or leave the parameter out."))
                valid = False
        return valid


def query_values(request: Any, serializer: type[Any], *, text: set[str]) -> dict[str, str]:
    """The query parameters a serializer reads, each once and, but for the `text` ones,
    not empty; a 422 otherwise (the same rules as StrictFilterSet)."""
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name in serializer().fields:
        given = request.query_params.getlist(name)
        if len(given) > 1:
            errors[name] = [_("Give this parameter once.")]
        elif given and given[0] == "" and name not in text:
            errors[name] = [_("Give a value, or leave the parameter out.")]
        elif given:
            values[name] = given[0]
    if errors:
        raise ValidationError(errors)
    return values
