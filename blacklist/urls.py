from __future__ import annotations

from django.urls import path

from blacklist import views

urlpatterns = [
    path("blacklist/", views.blacklist_index, name="blacklist"),
    path("blacklist/add/", views.blacklist_add, name="blacklist-add"),
    path("blacklist/export.csv", views.blacklist_export, name="blacklist-export"),
    path("blacklist/<int:pk>/", views.blacklist_entry_remove, name="blacklist-entry"),
    path("inbox/", views.inbox, name="inbox"),
]
