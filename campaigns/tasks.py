"""Celery tasks of the campaigns app."""

from __future__ import annotations

from celery import shared_task

from campaigns.imports import import_run


@shared_task(name="campaigns.import_contacts")
def import_contacts(contact_import_id: int) -> None:
    import_run(contact_import_id)
