"""The base of every domain error.

Services raise subclasses; pages show `message`, the API turns them into one JSON shape
(`code`, `message`, `details`) with `http_status`.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    # The request was readable but a rule refuses it: the API's 422 unless said otherwise.
    http_status = 422

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
