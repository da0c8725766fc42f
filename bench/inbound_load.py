"""The inbound webhook under load, on PostgreSQL behind gunicorn, driven by wrk. Prints
figures, asserts only that the result is exact.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsplatform_bench \\
        python bench/inbound_load.py

Kannel's get-url is called at a mix of, per 10 requests: 6 new STOPs (each from a
number that received a marketing message from one of 50 accounts), 2 carrier retries
of an id already sent, 2 ordinary replies. wrk (BENCH_INBOUND_SECONDS, default 20 s;
BENCH_INBOUND_CONNECTIONS, default 32) prints requests/s and the latency distribution;
then the bench counts: one Blacklist entry, one confirmation SMS and one debit per
distinct STOPped number, one inbound row per carrier id, no answer other than 2xx.

gunicorn runs BENCH_GUNICORN_WORKERS (default 2) workers of BENCH_GUNICORN_CLASS (default
gthread, BENCH_GUNICORN_THREADS threads each, default 16), as docker-compose.yml does: the
webhook commits the replies of a process's concurrent requests together
(blacklist/intake.py), so threads matter. The bench prints how many commits the replies
took (from the database's own counter).

The confirmations go to a Redis queue (BENCH_REDIS_URL, default db 14, emptied before
and after) that no worker reads: the webhook's own cost is measured, not the gateway's.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
SECONDS = int(os.environ.get("BENCH_INBOUND_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("BENCH_INBOUND_CONNECTIONS", "32"))
THREADS = 2
ACCOUNTS = 50
NUMBERS_PER_THREAD = 200_000  # attributable numbers each wrk thread can STOP
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
THREADS_PER_WORKER = int(os.environ.get("BENCH_GUNICORN_THREADS", "16"))

# wrk's script: each thread numbers its requests; its STOPs come from its own numbers.
LUA = r"""
-- thread_id is a global each thread gets from setup() (a local here would hide it).
local counter = 0
local threads = {}
function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
end
local base = "/webhooks/kannel/inbound/TOKEN/?to=36034"
function request()
  counter = counter + 1
  local slot = counter % 10
  local n = counter
  local id, from, text
  if slot == 3 or slot == 7 then
    -- a carrier's retry of the id sent just before
    n = counter - 1
    id = string.format("t%d-%d", thread_id, n)
    from = string.format("+336%d%07d", thread_id + 1, n)
    text = "STOP"
  elseif slot == 5 or slot == 9 then
    id = string.format("t%d-%d", thread_id, n)
    from = string.format("+336%d%07d", thread_id + 1, n)
    text = "Merci%2C+a+samedi"
  else
    id = string.format("t%d-%d", thread_id, n)
    from = string.format("+336%d%07d", thread_id + 1, n)
    text = "STOP"
  end
  local query = "&id=" .. id .. "&from=%2B" .. string.sub(from, 2) .. "&text=" .. text
  return wrk.format("GET", base .. query)
end
"""


def setup_django() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set BENCH_DATABASE_URL=postgres://... (this benchmark is for PostgreSQL)")
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare() -> tuple[str, list[int]]:
    """50 accounts, LastSent rows for every number wrk may STOP, a Kannel connection."""
    from django.db import connection

    from accounts.models import EntryKind
    from accounts.services import account_create, credits_add
    from blacklist.models import GatewayKind
    from blacklist.services import connection_create
    from campaigns.models import LastSent

    stamp = time.time_ns()
    accounts = []
    for index in range(ACCOUNTS):
        slug = f"inbound-{stamp}-{index}"
        account = account_create(name=slug, slug=slug)
        credits_add(account=account, amount=1000, kind=EntryKind.PURCHASE, reference=slug)
        accounts.append(account.pk)
    table = LastSent._meta.db_table
    # The numbers wrk uses: +336<thread+1><7 digits>; each goes to one of the accounts.
    # Earlier runs' rows for the same numbers are replaced: a fresh attribution.
    with connection.cursor() as cursor:
        for thread in range(THREADS):
            cursor.execute(
                f"DELETE FROM {table} WHERE phone_number LIKE %s",  # noqa: S608
                [f"+336{thread + 1}%"],
            )
            cursor.execute(
                f"INSERT INTO {table} (phone_number, account_id, message_id, campaign_id, "  # noqa: S608
                "sent_at, marketing_at) SELECT '+336' || %s || lpad(n::text, 7, '0'), "
                "(%s::bigint[])[1 + n %% %s], n, NULL, now() - interval '1 day', "
                "now() - interval '1 day' "
                "FROM generate_series(0, %s) AS n",
                [thread + 1, accounts, ACCOUNTS, NUMBERS_PER_THREAD - 1],
            )
        # A table rewritten in one go has no statistics and dead index entries yet;
        # autovacuum would see to both within a minute in production.
        cursor.execute(f"VACUUM ANALYZE {table}")
    _connection, token = connection_create(name=f"bench-{stamp}", kind=GatewayKind.KANNEL)
    return token, accounts


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        [
            sys.executable, "-m", "gunicorn", "smsplatform.wsgi",
            "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS),
            "--worker-class", os.environ.get("BENCH_GUNICORN_CLASS", "gthread"),
            "--threads", str(THREADS_PER_WORKER), "--log-level", "warning",
        ],
        cwd=REPO, env=env, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not answer in 30 s")


def run_wrk(port: int, token: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.replace("TOKEN", token))
    try:
        return subprocess.run(  # noqa: S603 (our own command line)
            [
                shutil.which("wrk") or "wrk", "-t", str(THREADS), "-c", str(CONNECTIONS),
                "-d", f"{SECONDS}s", "--latency", "-s", script.name, f"http://127.0.0.1:{port}",
            ],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    setup_django()
    import redis
    from django.core.management import call_command
    from django.db.models import Count

    from accounts.models import CreditEntry, EntryKind
    from blacklist.models import BlacklistEntry, InboundMessage
    from campaigns.models import Message

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(REDIS_URL).flushdb()
    token, accounts = prepare()
    port = free_port()
    server = start_gunicorn(port)
    try:
        output = run_wrk(port, token)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        redis.Redis.from_url(REDIS_URL).flushdb()

    print(
        f"== inbound webhook: gunicorn ({WORKERS} workers x {THREADS_PER_WORKER} threads), "
        f"wrk {THREADS} "
        f"threads x {CONNECTIONS} connections for {SECONDS} s, PostgreSQL, {os.cpu_count()} CPUs"
    )
    print(output.rstrip())
    inbound = InboundMessage.objects.filter(account_id__in=accounts)
    stops = inbound.filter(intent="stop")
    numbers = stops.values("sender").distinct().count()
    entries = BlacklistEntry.objects.filter(account_id__in=accounts).count()
    confirmations = Message.objects.filter(
        account_id__in=accounts, campaign__isnull=True, marketing=False
    ).count()
    debits = CreditEntry.objects.filter(
        account_id__in=accounts, kind=EntryKind.STOP_CONFIRMATION
    ).count()
    duplicated_ids = inbound.values("carrier_id").annotate(n=Count("id")).filter(n__gt=1).count()
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    # A group's replies share one received_at (blacklist/services._store_replies).
    commits = inbound.values("received_at").distinct().count()
    print(
        f"\nstored: {inbound.count():,} replies ({stops.count():,} STOPs from {numbers:,} "
        f"numbers, {inbound.count() - stops.count():,} ordinary) for {requests:,} requests "
        f"(the rest were carrier retries) in {commits:,} commits "
        f"({inbound.count() / max(commits, 1):.1f} replies each); "
        f"new STOPs/s: {numbers / SECONDS:,.0f}"
    )
    print(
        f"exactly once: {entries:,} Blacklist entries, {confirmations:,} confirmations, "
        f"{debits:,} debits for {numbers:,} STOPped numbers; {duplicated_ids} carrier ids "
        f"stored twice; non-2xx answers: {errors.group(1) if errors else 0}"
    )
    assert entries == confirmations == debits == numbers, (entries, confirmations, debits)
    assert duplicated_ids == 0
    assert errors is None, errors.group(0)


if __name__ == "__main__":
    main()
