"""Create an API key for an account from the command line (the API page does it too)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account
from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an account and print it (it is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account", help="the account's slug, e.g. demo-marketing")
        parser.add_argument("--name", default="command line", help="what uses the key")

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(f"No account with the slug {options['account']!r}.")
        _key, raw = api_key_create(account=account, name=options["name"], created_by=None)
        self.stdout.write(raw)
