"""What a scenario is and what it reports."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

# A database and a Redis database of their own: a run never touches the platform's, the
# tests' (test_*, Redis 15), the benches' (Redis 14) or another worktree's.
DATABASE_URL = os.environ.get(
    "FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsplatform_faults"
)
REDIS_URL = os.environ.get("FAULTS_REDIS_URL", "redis://127.0.0.1:6379/11")


@dataclass
class Result:
    """One row of the report. `passed` is the scenario's own verdict on its counts."""

    messages: int = 0  # what the scenario sent or delivered (messages, requests, debits)
    lost: int = 0
    duplicates: int = 0
    double_debits: int = 0
    recover_seconds: float | None = None  # from the fault to the platform being whole
    passed: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scenario:
    """`fast`: runs in CI (a minute or less); the others run with `make faults`."""

    name: str
    description: str
    run: Callable[[], Result]
    fast: bool = False
