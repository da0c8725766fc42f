from __future__ import annotations

from django.urls import path

from campaigns import compose_views, import_views, views

urlpatterns = [
    path("campaigns/new/", compose_views.compose, name="compose"),
    path("campaigns/preview.json", compose_views.preview_json, name="preview-json"),
    path("contacts/", views.contact_list, name="contact-list"),
    path("contacts/import/", import_views.import_upload, name="import-upload"),
    path("contacts/import/<int:pk>/", import_views.import_detail, name="import-detail"),
    path("contacts/import/<int:pk>/columns/", import_views.import_mapping, name="import-mapping"),
    path(
        "contacts/import/<int:pk>/rejected.csv",
        import_views.import_rejections,
        name="import-rejections",
    ),
    path("contacts/new/", views.contact_create, name="contact-create"),
    path("contacts/<int:pk>/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact-delete"),
]
