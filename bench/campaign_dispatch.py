"""Launch and dispatch speed of a large campaign, on PostgreSQL. Prints figures.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsplatform_bench \\
        python bench/campaign_dispatch.py

Figures printed:
1. launch of BENCH_RECIPIENTS (default 1,000,000) recipients, 90 % French and 10 %
   British, local gateway: seconds to compute every text and cost, write the rows
   (COPY) and debit; peak memory of the launching process;
2. dispatch to the local gateway by BENCH_WORKERS (default 2) worker processes running
   the dispatch task: messages/s handed over, peak memory of each worker;
3. a naive baseline on BENCH_NAIVE (default 20,000) recipients: one ORM save per
   message at launch, one task per message at dispatch; the ratio to ours;
4. BENCH_KANNEL (default 20,000) messages through a real Kannel (bearerbox + smsbox +
   fakesmsc), through the platform's dispatch (BENCH_KANNEL_WORKERS processes, default 1,
   with KANNEL_CONNECTIONS, default 64, connections each), beside Kannel's
   own ceiling measured in the same run by driving its sendsms directly with the same
   messages (bench/kannel_ceiling.py's fastest drivers: one asyncio loop with 64
   connections, and 4 processes with 16 each).

Dispatch is timed from the moment the started workers are let go to the last one done
(Django's start-up is not counted).

Delivery reports are off during the measures (local: no simulated reports; Kannel:
no dlr-mask) so both sides of each comparison do the same work.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "1000000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
NAIVE = int(os.environ.get("BENCH_NAIVE", "20000"))
KANNEL = int(os.environ.get("BENCH_KANNEL", "20000"))
# One worker with 64 connections beats two with 16 or 32 each here: Kannel's boxes
# need most of the 2 CPUs at that rate, and a second worker only competes for them.
KANNEL_WORKERS = int(os.environ.get("BENCH_KANNEL_WORKERS", "1"))
KANNEL_CONNECTIONS = os.environ.get("KANNEL_CONNECTIONS", "64")
TEXT = "Soldes d'hiver : -30 % sur tout le magasin ce week-end avec le code HIVER30"


def setup_django() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set BENCH_DATABASE_URL=postgres://... (this benchmark is for PostgreSQL)")
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"  # no query log growing in memory
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ["SMS_LOCAL_REPORTS"] = "false"
    os.environ["KANNEL_DLR_MASK"] = "0"
    os.environ["SMS_DISPATCH_TASK_SECONDS"] = "3600"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
    import logging

    import django

    django.setup()
    # One "Task ... succeeded" line per in-process task would bury the figures.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_contacts(account_id: int, count: int, prefix: str) -> None:
    """COPY `count` contacts: 90 % French mobiles, 10 % British."""
    import io

    from django.db import connection

    from campaigns.models import Contact

    columns = (
        "account_id, phone_number, region, first_name, last_name, fields, consent_basis, "
        "consent_at, created_at, updated_at"
    )
    sql = f"COPY {Contact._meta.db_table} ({columns}) FROM STDIN"
    buffer = io.StringIO()
    for index in range(count):
        if index % 10 == 9:
            number, region = f"+4474{prefix}{index:07d}", "GB"
        else:
            number, region = f"+336{prefix}{index:07d}", "FR"
        buffer.write(
            f"{account_id}\t{number}\t{region}\tPrénom{index % 500}\tNom\t{{}}\topt_in\t"
            "2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\n"
        )
        if index % 100_000 == 99_999 or index == count - 1:
            buffer.seek(0)
            with connection.cursor() as cursor:
                cursor.cursor.copy_expert(sql, buffer)
            buffer = io.StringIO()


def new_account(slug: str, contacts: int, prefix: str) -> object:
    from accounts.models import AccountType, EntryKind
    from accounts.services import account_create, account_switch_type, credits_add

    slug = f"{slug}-{time.time_ns()}"  # a fresh account each run (ledgers are kept)
    account = account_create(name=slug, slug=slug)
    # Notification: the benchmark measures speed, not the French sending hours.
    account_switch_type(
        account=account, new_type=AccountType.NOTIFICATION, actor=None, reason="benchmark"
    )
    credits_add(
        account=account,
        amount=10 * contacts + 10,
        kind=EntryKind.PURCHASE,
        reference=f"bench:{slug}",
    )
    make_contacts(account.pk, contacts, prefix)
    return account


def launcher(campaign_id: int, queue: multiprocessing.Queue) -> None:
    setup_django()
    import campaigns.tasks as tasks
    from campaigns.launch import launch_campaign
    from campaigns.models import Campaign

    tasks.start_dispatch = lambda campaign_id: None  # the workers below dispatch
    start = time.perf_counter()
    plan = launch_campaign(Campaign.objects.select_related("account").get(pk=campaign_id))
    seconds = time.perf_counter() - start
    queue.put((plan.recipients, plan.french, plan.international, plan.credits, seconds, peak_mb()))


def worker(campaign_id: int, queue: multiprocessing.Queue, ready, go) -> None:
    setup_django()
    from django.db import connection

    from campaigns.gateways import get_gateway
    from campaigns.tasks import dispatch_campaign

    connection.ensure_connection()
    get_gateway()
    ready.release()
    go.wait()
    handed = dispatch_campaign.run(campaign_id)
    queue.put((handed, peak_mb(), time.perf_counter()))


def run_workers(
    context, campaign_id: int, queue: multiprocessing.Queue, workers: int = WORKERS
) -> tuple[list, float]:
    """WORKERS dispatch processes, started, then let go together: (results, seconds).

    The clock starts when the ready workers are let go, so Django's start-up is not
    counted, and stops when the last one is done.
    """
    ready, go = context.Semaphore(0), context.Event()
    processes = [
        context.Process(target=worker, args=(campaign_id, queue, ready, go)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    return results, max(done for _, _, done in results) - start


def bench_launch_and_dispatch() -> None:
    from campaigns.lifecycle import campaign_create
    from campaigns.models import Campaign, CampaignStatus, Message, MessageState

    print(f"\n== {RECIPIENTS:,} recipients, local gateway, PostgreSQL")
    start = time.perf_counter()
    account = new_account("bench-million", RECIPIENTS, "1")
    print(f"setup: {RECIPIENTS:,} contacts copied in {time.perf_counter() - start:.1f} s")

    campaign = campaign_create(
        account=account, name="Hiver", text=TEXT, all_contacts=True, add_stop_mention=True
    )
    # Launch in a process of its own, to read its own peak memory.
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = context.Queue()
    process = context.Process(target=launcher, args=(campaign.pk, queue))
    process.start()
    recipients, french, international, credits, launch_seconds, launch_mb = queue.get()
    process.join()
    print(
        f"launch: {recipients:,} messages ({french:,} FR, {international:,} "
        f"international), {credits:,} credits debited once, in {launch_seconds:.1f} s "
        f"({recipients / launch_seconds:,.0f} recipients/s); peak memory of the launching "
        f"process {launch_mb:.0f} MB"
    )

    results, seconds = run_workers(context, campaign.pk, queue)
    handed = sum(count for count, _, _ in results)
    sent = Message.objects.filter(campaign=campaign, state=MessageState.SENT).count()
    status = Campaign.objects.get(pk=campaign.pk).status
    print(
        f"dispatch: {handed:,} handed to the local gateway by {WORKERS} workers in "
        f"{seconds:.1f} s = {handed / seconds:,.0f} messages/s; {sent:,} rows sent; "
        f"campaign {status}"
    )
    print("worker peak memory: " + ", ".join(f"{mb:.0f} MB" for _, mb, _ in results))
    assert status == CampaignStatus.COMPLETED, status
    return handed / seconds, launch_seconds / recipients


def bench_naive(ours_per_second: float, ours_launch_per_recipient: float) -> None:
    """One ORM save per message, one task per message: what set-based work replaces."""
    from celery import shared_task

    from campaigns.gateways import OutgoingSms, get_gateway
    from campaigns.lifecycle import campaign_create
    from campaigns.models import Contact, Message, MessageState
    from campaigns.preview import compose_one

    @shared_task(name="bench.naive_send")
    def naive_send(message_id: int) -> None:
        message = Message.objects.get(pk=message_id)
        result = get_gateway().send_batch(
            [OutgoingSms(message.pk, message.phone_number, "", message.text, message.ucs2)]
        )[0]
        message.state = MessageState.SENT
        message.gateway_id = result.gateway_id
        message.save()

    print(f"\n== naive baseline, {NAIVE:,} recipients")
    account = new_account("bench-naive", NAIVE, "2")
    campaign = campaign_create(account=account, name="Naive", text=TEXT, all_contacts=True)
    start = time.perf_counter()
    ids = []
    for contact in Contact.objects.filter(account=account).iterator():
        composition = compose_one(account, TEXT, region=contact.region)
        message = Message.objects.create(
            account=account,
            campaign=campaign,
            phone_number=contact.phone_number,
            region=contact.region,
            text=composition.text_sent,
            segments=composition.segments,
            credits=composition.credits,
        )
        ids.append(message.pk)
    launch_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for message_id in ids:
        naive_send.apply(args=(message_id,))
    seconds = time.perf_counter() - start
    per_second = len(ids) / seconds
    print(
        f"naive launch: {len(ids) / launch_seconds:,.0f} recipients/s "
        f"(ours: {1 / ours_launch_per_recipient:,.0f}/s, "
        f"×{launch_seconds / len(ids) / ours_launch_per_recipient:.0f})"
    )
    print(
        f"naive dispatch: {per_second:,.0f} messages/s (one process); ours "
        f"{ours_per_second:,.0f}/s: ×{ours_per_second / per_second:.1f}"
    )


def bench_kannel() -> None:
    from bench.kannel_ceiling import request_paths, send_asyncio, send_processes
    from campaigns.launch import launch_campaign
    from campaigns.lifecycle import campaign_create
    from campaigns.models import Campaign, CampaignStatus, Message, MessageState
    from tests.kannel_harness import running_kannel

    print(f"\n== Kannel: {KANNEL:,} messages (bearerbox + smsbox + fakesmsc)")
    workdir = Path(tempfile.mkdtemp(prefix="sms-bench-kannel-"))
    with running_kannel(workdir, log_level=3) as run:
        # Kannel's ceiling: its sendsms driven directly with the same messages (one GSM
        # SMS each, a sender, no reports) by the fastest drivers we have.
        paths = request_paths(run, KANNEL, None)
        ceiling = 0.0
        for name, client, connections in (
            ("asyncio, 64 connections", send_asyncio, 64),
            ("4 processes x 16 connections", send_processes, 64),
        ):
            start = time.perf_counter()
            outcome = client(run, paths, connections)
            seconds = time.perf_counter() - start
            accepted = outcome.answers.get(202, 0)
            ceiling = max(ceiling, accepted / seconds)
            print(
                f"Kannel's ceiling, sendsms driven directly ({name}): {accepted:,} accepted "
                f"in {seconds:.2f} s = {accepted / seconds:,.0f} sendsms/s"
            )
        run.wait_parts(2 * KANNEL, timeout=120)

        os.environ.update(
            SMS_GATEWAY="kannel",
            KANNEL_SENDSMS_URL=run.sendsms_url,
            KANNEL_USERNAME=run.username,
            KANNEL_PASSWORD=run.password,
            KANNEL_CONNECTIONS=KANNEL_CONNECTIONS,
        )
        account = new_account("bench-kannel", KANNEL, "3")
        campaign = campaign_create(
            account=account, name="Kannel", text=TEXT, all_contacts=True, add_stop_mention=True
        )
        import campaigns.tasks as tasks

        dispatch_later, tasks.start_dispatch = tasks.start_dispatch, lambda campaign_id: None
        try:
            launch_campaign(campaign)
        finally:
            tasks.start_dispatch = dispatch_later
        context = multiprocessing.get_context("spawn")
        results, seconds = run_workers(context, campaign.pk, context.Queue(), KANNEL_WORKERS)
        handed = sum(count for count, _, _ in results)
        sent = Message.objects.filter(campaign=campaign, state=MessageState.SENT).count()
        status = Campaign.objects.get(pk=campaign.pk).status
        through = sent / seconds
        print(
            f"through the platform ({KANNEL_WORKERS} worker x {KANNEL_CONNECTIONS} connections, "
            f"claims and sent rows written in PostgreSQL): {handed:,} handed, "
            f"{sent:,} accepted in {seconds:.2f} s = {through:,.0f} messages/s = "
            f"{through * 100 / ceiling:.0f} % of the ceiling; campaign {status}"
        )
        expected = 2 * KANNEL + sent
        got = run.wait_parts(expected, timeout=120)
        print(f"fakesmsc received {got:,} of {expected:,} messages")
        assert status == CampaignStatus.COMPLETED, status
        assert got == expected, (got, expected)


def main() -> None:
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if RECIPIENTS:
        ours, launch_per_recipient = bench_launch_and_dispatch()
    if RECIPIENTS and NAIVE:
        bench_naive(ours, launch_per_recipient)
    if not KANNEL:
        return
    if os.access("/usr/sbin/bearerbox", os.X_OK):
        bench_kannel()
    else:
        print("\n== Kannel: not installed (apt-get install kannel kannel-extras), skipped")


if __name__ == "__main__":
    main()
