"""The base of every domain error.

Services raise subclasses; pages show `message`, the API turns them into one JSON shape
(`code`, `message`, `details`) with `http_status`.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
