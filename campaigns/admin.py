from __future__ import annotations

from django.contrib import admin

from campaigns.models import Contact


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["phone_number", "first_name", "last_name", "region", "account", "consent_basis"]
    list_filter = ["region", "consent_basis"]
    search_fields = ["phone_number", "first_name", "last_name", "account__slug"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
