"""`Idempotency-Key`: a retried request gets the first answer and changes nothing more.

    with transaction.atomic():
        INSERT the record (account, key)     -- a concurrent retry blocks here, on the
        run the effect (in a savepoint)      -- unique index, until this transaction
        UPDATE the record with the answer    -- ends; then it reads the stored answer
    COMMIT

If the first attempt's transaction rolls back (a crash, a bug), nothing is recorded and
a retry runs afresh. A refusal the service decided (too few credits, a blacklisted
number) is an answer like any other: its savepoint is rolled back, the refusal is
stored, and a retry gets the same refusal (send a new key to try again). A refusal of
the input itself (a missing field) happens before any of this and is never stored.
The same key with another operation or another body is refused (409): it is a bug in
the caller, not a retry.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Account, IdempotencyRecord
from smsplatform.api.exceptions import domain_error_response
from smsplatform.errors import DomainError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Visible ASCII, no spaces (a UUID, an order number): what a header carries unaltered.
KEY_REGEX = r"^[!-~]{1,255}$"
KEY_PATTERN = re.compile(KEY_REGEX)


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(
            _(
                "This Idempotency-Key was already used for another request (another "
                "operation or another body). Use a new key for a new request."
            )
        )


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency_key_invalid"
    http_status = 400

    def __init__(self) -> None:
        super().__init__(
            _("An Idempotency-Key is 1 to %(max)d visible ASCII characters, without spaces.")
            % {"max": MAX_KEY_LENGTH}
        )


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def clean_key(raw: str | None) -> str | None:
    """The header's key, None without one; raises IdempotencyKeyInvalid."""
    if raw is None:
        return None
    if not KEY_PATTERN.fullmatch(raw):
        raise IdempotencyKeyInvalid()
    return raw


def fingerprint(operation: str, data: Any) -> str:
    """The operation and its input, independent of key order and spacing."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{operation}\n{canonical}".encode()).hexdigest()


def idempotency_execute(
    *,
    account: Account,
    key: str | None,
    operation: str,
    data: Any,
    run: Callable[[], tuple[int, dict[str, Any]]],
) -> Answer:
    """Run `run()` (which performs the effect and returns (status, body)) once per key.

    Without a key, `run()` simply runs. Domain errors become stored answers.
    """
    if key is None:
        try:
            with transaction.atomic():
                status, body = run()
        except DomainError as error:
            status, body = domain_error_response(error)
        return Answer(status, body)
    print_ = fingerprint(operation, data)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    account=account, key=key, operation=operation, fingerprint=print_
                )
        except IntegrityError:
            # The first attempt has committed (our INSERT waited for it): replay it.
            record = IdempotencyRecord.objects.get(account=account, key=key)
            if record.operation != operation or record.fingerprint != print_:
                raise IdempotencyKeyReused() from None
            return Answer(record.status_code, json.loads(record.response), replayed=True)
        try:
            with transaction.atomic():
                status, body = run()
        except DomainError as error:
            status, body = domain_error_response(error)
        record.status_code = status
        record.response = json.dumps(body, cls=DjangoJSONEncoder)
        record.save(update_fields=["status_code", "response"])
    return Answer(status, body)
