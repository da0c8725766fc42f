"""Print exactly what one SMS would send and cost, as one JSON object."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account
from campaigns.forms import MAX_TEXT_LENGTH
from campaigns.phone import InvalidNumber, normalize_number
from campaigns.preview import compose_one, composition_json


class Command(BaseCommand):
    help = (
        "Preview one SMS: the text sent with its STOP mention, encoding, units, segments "
        "and credits for a destination number, under an account's rules."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", help="The message text (use quotes; '-' reads stdin).")
        parser.add_argument("--to", required=True, help="Destination number, e.g. 0612345678.")
        parser.add_argument(
            "--account",
            help="Account slug (default: the only account, or an error naming the choices).",
        )
        parser.add_argument(
            "--no-stop",
            action="store_true",
            help="Leave the STOP mention off (Notification accounts only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text: str = options["text"]
        if text == "-":
            text = sys.stdin.read()
        if len(text) > MAX_TEXT_LENGTH:
            raise CommandError(f"The text has {len(text)} characters: at most {MAX_TEXT_LENGTH}.")
        account = self._account(options["account"])
        try:
            number = normalize_number(options["to"])
        except InvalidNumber as error:
            raise CommandError(f"--to {options['to']!r}: {error.message}") from None
        if options["no_stop"] and account.stop_mention_locked:
            raise CommandError(
                f"--no-stop refused: {account.slug} is a Marketing account, whose messages "
                "always carry the STOP mention (French law). Only support staff can switch "
                "an account to Notification."
            )
        requested = False if options["no_stop"] else None
        composition = compose_one(account, text, region=number.region, requested=requested)
        payload = composition_json(composition, to=number.e164, region=number.region)
        self.stdout.write(json.dumps(payload, ensure_ascii=False))

    def _account(self, slug: str | None) -> Account:
        if slug:
            account = Account.objects.filter(slug=slug).first()
            if account is None:
                raise CommandError(f"No account with slug {slug!r}.")
            return account
        slugs = list(Account.objects.order_by("slug").values_list("slug", flat=True)[:20])
        if len(slugs) == 1:
            return Account.objects.get(slug=slugs[0])
        if not slugs:
            raise CommandError("No account yet: run `python manage.py seed_demo` or create one.")
        raise CommandError(f"Several accounts: choose one with --account ({', '.join(slugs)}).")
