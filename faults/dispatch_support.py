"""What the dispatch scenarios share: real `celery worker` (prefork) and `celery beat`
processes, each in a process group of its own so a scenario can kill a child, the
whole worker or shut it down warm; a large campaign built fast; and the counts.

The counts come from the carrier's log (`faults/carrier.py`), by platform message id:

- lost: messages of the campaign, not skipped for a STOP, the carrier never received;
- duplicates: receptions beyond the first of one message id;
- double debits: credits the campaign kept beyond the credits of the distinct
  messages the carrier received (the ledger must equal what was submitted).
"""

from __future__ import annotations

import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faults.base import DATABASE_URL, REDIS_URL
from faults.edge_support import stamp

REPO = Path(__file__).resolve().parents[1]
SECRET = "faults-dispatch-report-secret"  # noqa: S105 (a throwaway run's)
# The sweeper puts claims older than this back (or, once submitted, to `unknown`).
CLAIM_TIMEOUT = "5"
TEXT = "Soldes d'hiver : -30 % ce week-end avec le code HIVER30"


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "REDIS_URL": "",
        "CACHE_URL": "",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "faults-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONPATH": str(REPO),
        "PYTHONWARNINGS": "ignore:No directory at",
        "SMS_GATEWAY": "kannel",
        "KANNEL_REPORT_SECRET": SECRET,
        "SMS_TICK_SECONDS": "1",
        "SMS_CLAIM_TIMEOUT": CLAIM_TIMEOUT,
        "SMS_DISPATCH_TASK_SECONDS": "10",
        "SMS_DISPATCH_PARALLEL": "2",
        **extra,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


class Process:
    """A command in a process group of its own, logging to a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path):
        self.name = name
        self.command = command
        self.env = env
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, ready: str | None = None, timeout: float = 60) -> None:
        self.starts += 1
        log = self.log_path.open("a")
        log.write(f"\n==== start {self.starts} at {time.time():.3f}\n")
        log.flush()
        self.process = subprocess.Popen(  # noqa: S603 (our own command line)
            self.command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        if ready is None:
            return
        deadline = time.monotonic() + timeout
        marker = f"==== start {self.starts} at"
        while True:
            text = self.log_path.read_text(errors="replace")
            if ready in text[text.rfind(marker) :]:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {text[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready in {timeout} s: {text[-3000:]}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def kill_child(self) -> int:
        """kill -9 one child process (a prefork pool process); its pid."""
        children = self.children()
        if not children:
            raise RuntimeError(f"{self.name} has no child to kill")
        victim = random.choice(children)  # noqa: S311 (not a secret)
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill_all(self) -> None:
        """kill -9 the main process and its children (the whole process group)."""
        if self.process is None:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60) -> float:
        """SIGTERM to the main process (Celery's warm shutdown: running tasks finish);
        the seconds it took to exit. SIGKILL to the group if it takes too long."""
        if not self.alive():
            return 0.0
        started = time.monotonic()
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            pass
        seconds = time.monotonic() - started
        self.kill_all()
        return seconds

    def stop(self) -> None:
        """For finally blocks: whatever state it is in, nothing of it survives."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # children a dead main left behind
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def celery_worker(workdir: Path, env: dict[str, str], concurrency: int = 2) -> Process:
    return Process(
        "worker",
        [sys.executable, "-m", "celery", "-A", "smsplatform", "worker", "-Q", "sms",
         "-c", str(concurrency), "-P", "prefork", "-l", "info",
         "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"faults-{stamp()}@%h"],
        env, workdir,
    )  # fmt: skip


def celery_beat(workdir: Path, env: dict[str, str]) -> Process:
    return Process(
        "beat",
        [sys.executable, "-m", "celery", "-A", "smsplatform", "beat", "-l", "info",
         "-s", str(workdir / "beat-schedule"), "--pidfile", ""],
        env, workdir,
    )  # fmt: skip


@dataclass
class Stack:
    workdir: Path
    env: dict[str, str]
    worker: Process
    beat: Process

    def start_worker(self) -> None:
        self.worker.start(ready="ready.")


@contextmanager
def running_stack(
    carrier_url: str, *, public_url: str = "http://127.0.0.1:9", extra: dict[str, str] | None = None
) -> Iterator[Stack]:
    """A worker (2 prefork processes) and beat on the scenarios' database and Redis,
    sending through Kannel's client to `carrier_url`; both stopped when the block ends,
    and their logs removed (FAULTS_KEEP_LOGS=1 keeps them)."""
    workdir = Path(tempfile.mkdtemp(prefix="faults-dispatch-"))
    env = _environment(
        {"KANNEL_SENDSMS_URL": carrier_url, "SMS_PUBLIC_URL": public_url, **(extra or {})}
    )
    stack = Stack(workdir, env, celery_worker(workdir, env), celery_beat(workdir, env))
    try:
        stack.worker.start(ready="ready.")
        stack.beat.start(ready="beat: Starting")
        yield stack
    finally:
        stack.beat.stop()
        stack.worker.stop()
        if os.environ.get("FAULTS_KEEP_LOGS"):
            print(f"worker and beat logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# -- the database and the broker -------------------------------------------------------


def clear_broker(url: str = REDIS_URL) -> None:
    """The scenarios' Redis database holds only what runs left behind: empty it."""
    import redis

    redis.Redis.from_url(url).flushdb()


def retire_leftovers() -> int:
    """Campaigns an interrupted earlier run left sending or scheduled would be woken by
    this run's tick and sent to this run's carrier: cancel them (rows untouched)."""
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignStatus

    return Campaign.objects.filter(
        status__in=[CampaignStatus.SENDING, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED]
    ).update(status=CampaignStatus.CANCELLED, completed_at=timezone.now())


def number_block() -> str:
    """'+447NNN': a British mobile block of a million numbers, random per run so the
    numbers of one run were messaged by no other run's account (STOP attribution)."""
    import phonenumbers

    while True:
        block = f"+447{random.randrange(400, 1000)}"  # noqa: S311
        if all(
            phonenumbers.is_valid_number(phonenumbers.parse(f"{block}{n:06d}"))
            for n in (0, 123456, 999999)
        ):
            return block


def new_account(recipients: int, name: str) -> Any:
    from accounts.models import EntryKind
    from accounts.services import account_create, credits_add

    slug = f"faults-{name}-{stamp()}"
    account = account_create(name=slug, slug=slug)  # Marketing: the STOP rules apply
    credits_add(
        account=account, amount=5 * recipients + 1000, kind=EntryKind.PURCHASE, reference=slug
    )
    return account


def copy_contacts(account_id: int, numbers: list[str]) -> None:
    from django.db import connection

    from campaigns.models import Contact

    columns = (
        "account_id, phone_number, region, first_name, last_name, fields, consent_basis, "
        "consent_at, created_at, updated_at"
    )
    sql = f"COPY {Contact._meta.db_table} ({columns}) FROM STDIN"
    buffer = io.StringIO()
    for number in numbers:
        buffer.write(
            f"{account_id}\t{number}\tGB\t\t\t{{}}\topt_in\t2026-01-01 00:00:00+00\t"
            "2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\n"
        )
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, buffer)


def campaign_for(
    account: Any, numbers: list[str], *, scheduled_at: Any = None, launch: bool = True
) -> Any:
    """A campaign to `numbers` (contacts copied in bulk), launched through the platform's
    own `launch_campaign`: its dispatch tasks go to Redis when it commits."""
    from campaigns.launch import launch_campaign
    from campaigns.lifecycle import campaign_create

    copy_contacts(account.pk, numbers)
    campaign = campaign_create(
        account=account, name="Hiver", text=TEXT, all_contacts=True, scheduled_at=scheduled_at
    )
    if launch:
        launch_campaign(campaign)
    return campaign


# -- counting ---------------------------------------------------------------------------


@dataclass
class Counts:
    messages: int = 0
    received_ids: int = 0
    lost: int = 0
    duplicates: int = 0
    spent: int = 0  # credits the campaign kept (launch debit minus refunds)
    submitted_credits: int = 0  # credits of the distinct messages the carrier received
    states: Counter[str] = field(default_factory=Counter)
    lost_ids: list[int] = field(default_factory=list)
    duplicate_ids: list[int] = field(default_factory=list)

    @property
    def double_debits(self) -> int:
        return max(0, self.spent - self.submitted_credits)

    @property
    def money_exact(self) -> bool:
        return self.spent == self.submitted_credits


def count(campaign: Any, per_id: Counter[int]) -> Counts:
    from django.db.models import Sum

    from accounts.models import CreditEntry
    from campaigns.models import Message, MessageState

    rows = list(
        Message.objects.filter(campaign_id=campaign.pk).values_list("id", "state", "credits")
    )
    counts = Counts(messages=len(rows))
    counts.states = Counter(state for _id, state, _credits in rows)
    for message_id, state, credits in rows:
        times = per_id.get(message_id, 0)
        if times:
            counts.received_ids += 1
            counts.submitted_credits += credits
        if times > 1:
            counts.duplicates += times - 1
            counts.duplicate_ids.append(message_id)
        if not times and state != MessageState.SKIPPED:
            counts.lost += 1
            counts.lost_ids.append(message_id)
    movements = CreditEntry.objects.filter(
        account_id=campaign.account_id, reference__startswith=f"campaign:{campaign.pk}:"
    ).aggregate(total=Sum("amount"))["total"]
    counts.spent = -(movements or 0)
    return counts


def wait_until(condition: Callable[[], bool], *, seconds: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def campaign_done(campaign: Any) -> bool:
    from campaigns.models import Campaign, CampaignStatus

    return Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.COMPLETED).exists()


def describe(counts: Counts) -> str:
    states = ", ".join(f"{state} {n:,}" for state, n in sorted(counts.states.items()))
    return (
        f"rows: {states}; carrier received {counts.received_ids:,} distinct ids; "
        f"credits kept {counts.spent:,} for {counts.submitted_credits:,} submitted"
    )


def sample(ids: list[int], n: int = 5) -> str:
    return ", ".join(str(message_id) for message_id in ids[:n]) + (" …" if len(ids) > n else "")
