"""make bench-ledger: the ledger's write path, replay and memory, measured on this machine.

One run against one PostgreSQL server (DATABASE_URL), in a scratch database dropped at the end:

  (c) raw PostgreSQL: one-row INSERT + COMMIT per second, one connection;
  (a) repayments posted per second through the ledger's real write path (the group-commit
      writer: allocation, balanced journal, receipt idempotency, one durable save per batch),
      many loans, many concurrent senders, a share of them resending receipts already posted;
  (e) the same postings as the gateway's PaymentReceived over NATS JetStream, drained by the
      ledger's payments consumer one message per transaction, then in batches (servicekit's
      batch mode: one transaction and one group commit per batch), side by side with (c);
  (d) a plain scan of the events table that only decodes each row's JSON;
  (b) ``hazina-ledger replay``'s rebuild of every read model from the same events, events/s,
      in a child process whose peak memory is reported, at two store sizes.

It prints (a)/(c) and (b)/(d) against the targets (>= 1.5 and >= 0.5) and says which were met.
Group-commit fallbacks (a batch re-run command by command) are counted and printed: goal zero.
Usage: uv run python bench/ledger_bench.py [--loans N] [--senders N] [--events N] [--write-only]
       [--profile FILE]  (cProfile of the batched consumer step, for services/ledger/README.md)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import nats
import psycopg

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.payments import PaymentReceived
from hazina_contracts.subjects import Stream
from hazina_ledger.application.commands import OpenLoanAccount, PostRepayment, RecordLoanTerms
from hazina_ledger.bootstrap import Container, build
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.database import database_url_with_name, drop_database, ensure_database
from hazina_servicekit.messaging import ensure_stream

TERMS = {
    "interest_method": "declining_equal_instalments",
    "interest_rate_percent": "24",
    "interest_rate_period": "year",
    "repayment_frequency": "monthly",
    "term": 24,
    "instalment_multiple_of_cents": 1,
    "rounding": "HALF_EVEN",
}
PAID_AT = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class NoTokens:
    """The benchmark serves no HTTP."""


def container_for(url: str, *, writer: bool) -> Container:
    settings = LedgerSettings(database_url=url, run_workers=False, pool_size=8)
    return build(settings, start_writer=writer, verifier=NoTokens())  # type: ignore[arg-type]


# (c) raw commits


def raw_commits_per_second(url: str, seconds: float) -> float:
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, payload text NOT NULL)"
        )
        conn.commit()
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            conn.execute("INSERT INTO bench_raw (payload) VALUES (%s)", ("x" * 64,))
            conn.commit()
            done += 1
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_raw")
        conn.commit()
    return done / elapsed


# (a) the write path


def open_loans(container: Container, count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    for loan_id in ids:  # terms as origination sends them, then the disbursement
        container.ledger.record_loan_terms(
            RecordLoanTerms(
                loan_id=loan_id,
                client_id=uuid.uuid4(),
                group_id=None,
                loan_officer_id=None,
                account_number=loan_id.hex[:8],
                approved_principal_cents=100_000_000,
                terms=TERMS,
                strategy="interest_principal_per_instalment",
                approved_at=PAID_AT,
            )
        )
        container.ledger.open_loan_account(
            OpenLoanAccount(
                loan_id=loan_id,
                disbursement_id=uuid.uuid5(loan_id, "d"),
                amount_cents=100_000_000,
                charge_cents=1_300,
                mpesa_receipt=f"B{loan_id.hex[:9]}",
                disbursed_at=PAID_AT,
            )
        )
    return ids


def post_repayments(
    container: Container,
    loans: list[uuid.UUID],
    total: int,
    senders: int,
    resend_share: float,
    tag: str,
) -> dict[str, float]:
    """``senders`` threads post ``total`` repayments between them; some resend a receipt already sent."""
    counts = {"posted": 0, "duplicate": 0, "errors": 0}
    lock = threading.Lock()
    per_sender = total // senders
    barrier = threading.Barrier(senders + 1)

    def sender(index: int) -> None:
        rng = random.Random(index)
        sent: list[PostRepayment] = []
        local = {"posted": 0, "duplicate": 0, "errors": 0}
        barrier.wait()
        for k in range(per_sender):
            if sent and rng.random() < resend_share:
                command = rng.choice(sent)  # a C2B callback delivered again
            else:
                command = PostRepayment(
                    loan_id=rng.choice(loans),
                    receipt=f"{tag}{index:03d}X{k:07d}",
                    amount_cents=rng.randint(1_00, 5_000_00),
                    method="mpesa",
                    paid_at=PAID_AT,
                    channel="c2b",
                )
                sent.append(command)
            try:
                local[container.ledger.post_repayment(command).status] += 1
            except Exception:
                local["errors"] += 1
        with lock:
            for key, value in local.items():
                counts[key] += value

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        **counts,
        "seconds": elapsed,
        "per_second": (counts["posted"] + counts["duplicate"]) / elapsed,
    }


# (e) through the payments consumer


def payment_envelopes(
    loans: list[uuid.UUID], count: int, resend_share: float, tag: str
) -> list[EventEnvelope]:
    """The gateway's confirmations; a share repeats a receipt under a new envelope (a resent callback)."""
    rng = random.Random(tag)
    made: list[PaymentReceived] = []
    envelopes = []
    for k in range(count):
        if made and rng.random() < resend_share:
            event = rng.choice(made)
        else:
            event = PaymentReceived(
                occurred_at=PAID_AT,
                receipt=f"{tag}X{k:07d}",
                amount_cents=rng.randint(1_00, 5_000_00),
                msisdn=None,
                account_reference="bench",
                loan_id=rng.choice(loans),
                client_id=None,
                target="loan",
                paid_at=PAID_AT,
                channel="c2b",  # type: ignore[arg-type]
            )
            made.append(event)
        envelopes.append(
            EventEnvelope(
                event_id=uuid.uuid4(),
                type=event.TYPE,
                version=event.VERSION,
                occurred_at=PAID_AT,
                producer="payments",
                correlation_id=tag,
                subject=event.subject(),
                data=event.model_dump(mode="json"),
            )
        )
    return envelopes


async def _publish(js: Any, envelopes: list[EventEnvelope]) -> None:
    for start in range(0, len(envelopes), 500):
        await asyncio.gather(
            *(
                js.publish(e.subject, e.to_bytes(), headers={"Nats-Msg-Id": str(e.event_id)})
                for e in envelopes[start : start + 500]
            )
        )


async def _drain(
    nats_url: str,
    container: Container,
    envelopes: list[EventEnvelope],
    batched: bool,
    profile: cProfile.Profile | None,
) -> dict[str, float]:
    """Publish (not timed), then time the ledger's payments consumer draining the stream."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, Stream.PAYMENTS)
        await js.purge_stream(Stream.PAYMENTS.value)  # only this step's messages
        await _publish(js, envelopes)
        declared = container.service.durable_consumer(js, "payments")
        consumer: DurableConsumer = dataclasses.replace(
            declared,
            name=f"bench-{'batches' if batched else 'one-by-one'}",
            batch_handler=declared.batch_handler if batched else None,
        )
        sub = await consumer.subscribe()
        writer = container.ledger.writer
        commits = writer.batches
        if profile is not None:  # the CPU time of all three threads at work, each profiled alone
            writer_profile, apply_profile = profiles(profile)
            writer._run_batch = profiled(writer._run_batch, writer_profile)  # type: ignore[method-assign]
            consumer._apply_batch = profiled(consumer._apply_batch, apply_profile)  # type: ignore[method-assign]
            profile.enable()
        started = time.perf_counter()
        while consumer.processed + consumer.duplicates + consumer.parked < len(envelopes):
            messages = await consumer.next_messages(sub, wait_seconds=5.0)
            if batched:
                await consumer.handle_batch(messages)
            else:
                for msg in messages:
                    await consumer.handle(msg)
        elapsed = time.perf_counter() - started
        if profile is not None:
            profile.disable()
            del writer._run_batch, consumer._apply_batch
        await sub.unsubscribe()
        # The bench's own durable goes: left on a shared NATS with messages it never read, it
        # looks like another run's unfinished work to the next bench (``make bench-c2b``).
        await js.delete_consumer(Stream.PAYMENTS.value, consumer.durable)
        return {
            "messages": len(envelopes),
            "processed": consumer.processed,
            "duplicates": consumer.duplicates,
            "parked": consumer.parked,
            "seconds": elapsed,
            "per_second": len(envelopes) / elapsed,
            "per_commit": len(envelopes) / max(writer.batches - commits, 1),
            "batches": consumer.batches,
        }
    finally:
        await nc.close()


def profiles(main: cProfile.Profile) -> tuple[cProfile.Profile, cProfile.Profile]:
    extra = (cProfile.Profile(time.thread_time), cProfile.Profile(time.thread_time))
    PROFILES[id(main)] = extra
    return extra


PROFILES: dict[int, tuple[cProfile.Profile, cProfile.Profile]] = {}


def profiled(function: Any, profile: cProfile.Profile) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        profile.enable()
        try:
            return function(*args, **kwargs)
        finally:
            profile.disable()

    return run


def write_profile(main: cProfile.Profile, path: str, seconds: float, postings: int) -> None:
    """One file of stats (pstats) and a text summary next to it: per posting, by function."""
    import io
    import pstats

    stats = pstats.Stats(main)
    for extra in PROFILES.get(id(main), ()):
        stats.add(extra)
    stats.dump_stats(path)
    text = io.StringIO()
    stats.stream = text  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    text.write(
        f"CPU seconds in the three threads: {total:.2f} for {postings:,} postings "
        f"({total / postings * 1e6:,.0f} us each) over {seconds:.1f} s\n"
    )
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(60)
    with open(path + ".txt", "w") as summary:
        summary.write(text.getvalue())


def through_consumer(
    nats_url: str,
    container: Container,
    loans: list[uuid.UUID],
    count: int,
    batched: bool,
    profile: cProfile.Profile | None = None,
) -> dict[str, float]:
    tag = f"{'B' if batched else 'S'}{uuid.uuid4().hex[:5].upper()}"
    envelopes = payment_envelopes(loans, count, 0.03, tag)
    return asyncio.run(_drain(nats_url, container, envelopes, batched, profile))


# (d) plain scan, (b) replay


def event_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM ledger.ledger_events").fetchone()
    return int(row[0]) if row else 0


def plain_scan(url: str, page: int = 5_000) -> dict[str, float]:
    """Read every event row in notification order and decode its JSON; nothing else."""
    with psycopg.connect(url) as conn:
        started, position, rows = time.perf_counter(), 0, 0
        while True:
            batch = conn.execute(
                "SELECT notification_id, state FROM ledger.ledger_events WHERE notification_id > %s "
                "ORDER BY notification_id LIMIT %s",
                (position, page),
            ).fetchall()
            if not batch:
                break
            for _, state in batch:
                json.loads(state)
            rows += len(batch)
            position = batch[-1][0]
        elapsed = time.perf_counter() - started
    return {"events": rows, "seconds": elapsed, "per_second": rows / elapsed}


def replay_in_child(url: str, live: Container) -> dict[str, Any]:
    """Bring the live read models up to date here, then replay in a fresh process to see its memory."""
    live.projection.catch_up(batch_size=2_000)
    done = subprocess.run(
        [sys.executable, __file__, "_replay", url],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _replay_child(url: str) -> None:
    from hazina_ledger.cli import replay
    from hazina_ledger.replay_share import peak_rss_mib

    container = container_for(url, writer=False)
    try:
        container.projection.catch_up(
            batch_size=2_000
        )  # the live read models the replay compares with
        report = replay(container, quiet=True)
    finally:
        container.close()
    sys.stdout.write(
        json.dumps(
            {
                "ok": report.ok,
                "checks": report.checks,
                "events": report.metrics.get("events", 0),
                "seconds": report.metrics.get("rebuild_seconds", 0.0),
                "per_second": report.metrics.get("events_per_second", 0.0),
                "total_seconds": report.metrics.get("total_seconds", 0.0),
                # the largest of this process and the worker processes the rebuild started
                "peak_rss_mib": max(peak_rss_mib(), report.metrics.get("worker_rss_mib", 0.0)),
                "workers": report.metrics.get("workers", 1),
                "rss_after_rebuild_mib": report.metrics.get("rss_after_rebuild_mib", 0.0),
                "rss_after_loan_audit_mib": report.metrics.get("rss_after_loan_audit_mib", 0.0),
            }
        )
        + "\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loans", type=int, default=2_000)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument(
        "--repayments", type=int, default=40_000, help="timed write-path repayments"
    )
    parser.add_argument(
        "--events", type=int, default=400_000, help="store size for the larger replay"
    )
    parser.add_argument("--raw-seconds", type=float, default=5.0)
    parser.add_argument(
        "--consumed", type=int, default=20_000, help="payments drained by the batched consumer"
    )
    parser.add_argument(
        "--consumed-one-by-one",
        type=int,
        default=3_000,
        help="payments drained by the consumer one message per transaction",
    )
    parser.add_argument(
        "--write-only", action="store_true", help="only (c), (a) and (e): no replay, no (a')"
    )
    parser.add_argument("--profile", help="write a cProfile of the batched consumer step here")
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="also measure N ledger processes writing at once, loans partitioned between them (0/1: skip)",
    )
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL")
    if not server:
        out("DATABASE_URL is not set (make bench-ledger sets it)")
        return 2
    name = f"ledger_bench_{os.getpid()}"
    ensure_database(server, name)
    url = database_url_with_name(server, name)
    try:
        with psycopg.connect(url) as conn:
            settings = {
                k: conn.execute(f"SHOW {k}").fetchone()[0]  # type: ignore[index]
                for k in ("server_version", "fsync", "synchronous_commit")
            }
        out(
            f"PostgreSQL {settings['server_version']}  fsync={settings['fsync']}  "
            f"synchronous_commit={settings['synchronous_commit']}  cores={os.cpu_count()}"
        )

        raw = raw_commits_per_second(url, args.raw_seconds)
        out(f"(c) raw INSERT+COMMIT, one connection:         {raw:>10,.0f} commits/s")

        container = container_for(url, writer=True)
        try:
            started = time.perf_counter()
            loans = open_loans(container, args.loans)
            out(
                f"    opened {len(loans):,} loans in {time.perf_counter() - started:.1f}s (setup, not timed)"
            )
            post_repayments(
                container, loans, min(5_000, args.repayments), args.senders, 0.0, "WARM"
            )
            writer = container.ledger.writer
            batches, commands = writer.batches, writer.commands
            writes = post_repayments(container, loans, args.repayments, args.senders, 0.03, "BENCH")
            per_commit = (writer.commands - commands) / max(writer.batches - batches, 1)
            out(
                f"(a) repayments through the write path:         {writes['per_second']:>10,.0f} /s  "
                f"({writes['posted']:,.0f} posted + {writes['duplicate']:,.0f} resent receipts acknowledged, "
                f"{writes['errors']:,.0f} errors; one process, {args.senders} senders, {len(loans):,} loans, "
                f"{per_commit:,.0f} repayments per commit)"
            )
            nats_url = os.environ.get("NATS_URL")
            consumed: dict[str, dict[str, float]] = {}
            if nats_url:
                profile = cProfile.Profile(time.thread_time) if args.profile else None
                consumed["one"] = through_consumer(
                    nats_url, container, loans, args.consumed_one_by_one, batched=False
                )
                consumed["batch"] = through_consumer(
                    nats_url, container, loans, args.consumed, batched=True, profile=profile
                )
                for key, label in (("one", "one message per commit"), ("batch", "in batches")):
                    e = consumed[key]
                    per_batch = (
                        f"{e['messages'] / e['batches']:,.0f} messages per consumer batch, "
                        if e["batches"]
                        else ""
                    )
                    out(
                        f"(e) PaymentReceived via the consumer, {label + ':':<24}{e['per_second']:>8,.0f} /s  "
                        f"({e['processed']:,.0f} messages applied (3% resend a receipt under a new envelope), "
                        f"{e['duplicates']:,.0f} redelivered, {e['parked']:,.0f} parked; "
                        f"{per_batch}{e['per_commit']:,.0f} per ledger commit)"
                    )
                if profile is not None:
                    batch = consumed["batch"]
                    write_profile(profile, args.profile, batch["seconds"], int(batch["messages"]))
                    out(
                        f"    cProfile (CPU time per thread) of the batched step: {args.profile}.txt"
                    )
            else:
                out("(e) skipped: NATS_URL is not set (make bench-ledger sets it)")
            out(
                f"    group-commit fallbacks so far: {writer.fallbacks}  (goal 0; a fallback re-runs "
                "its batch command by command)"
            )
            if args.write_only:
                load = os.getloadavg()
                out("")
                out(f"(a)/(c) = {writes['per_second'] / raw:.2f}   target >= 1.5")
                for key, label in (("one", "one by one"), ("batch", "batches")):
                    if key in consumed:
                        out(f"(e {label})/(c) = {consumed[key]['per_second'] / raw:.2f}")
                if consumed:
                    ratio_e = consumed["batch"]["per_second"] / raw
                    out(
                        f"(e batches)/(c) = {ratio_e:.2f}   target >= 1.5   "
                        f"{'met' if ratio_e >= 1.5 else 'NOT met'}   "
                        f"(batches {consumed['batch']['per_second'] / consumed['one']['per_second']:.1f}x one by one)"
                    )
                out(
                    f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
                )
                return 0
            if args.processes > 1:
                parallel = post_from_processes(url, args)
                out(
                    f"(a') the same, {args.processes} ledger processes:        {parallel['per_second']:>10,.0f} /s  "
                    f"({parallel['posted']:,.0f} posted + {parallel['duplicate']:,.0f} acknowledged, "
                    f"{parallel['errors']:,.0f} errors; each process owns its own loans, {args.senders} senders each)"
                )
            small = event_count(url)
            target_small = max(args.events // 2, 100_000)
            # Grow the store to the first size through the same write path (not timed).
            fill(container, loans, target_small - small, args.senders)
            scan_small, replay_small = plain_scan(url), replay_in_child(url, container)
            fill(container, loans, args.events - event_count(url), args.senders)
            scan_large, replay_large = plain_scan(url), replay_in_child(url, container)
        finally:
            container.close()

        for label, scan, rebuilt in (
            ("smaller", scan_small, replay_small),
            ("larger", scan_large, replay_large),
        ):
            out(f"    store {label}: {scan['events']:,.0f} events")
            out(
                f"(d)   plain scan decoding JSON:                 {scan['per_second']:>10,.0f} events/s"
            )
            out(
                f"(b)   replay rebuild of every read model:       {rebuilt['per_second']:>10,.0f} events/s  "
                f"(rebuild {rebuilt['seconds']:.1f}s, with audit and comparison {rebuilt['total_seconds']:.1f}s, "
                f"audit {'OK' if rebuilt['ok'] else 'FAILED ' + str(rebuilt['checks'])})"
            )
            out(
                f"      replay peak memory (child RSS):           {rebuilt['peak_rss_mib']:>10,.0f} MiB  "
                f"(after the rebuild {rebuilt['rss_after_rebuild_mib']:,.0f} MiB, "
                f"after reading every loan back from the event store {rebuilt['rss_after_loan_audit_mib']:,.0f} MiB)"
            )
        ratio_a = writes["per_second"] / raw
        if args.processes > 1:
            out("")
            out(
                f"(a')/(c) = {parallel['per_second'] / raw:.2f}   ({args.processes} processes; one process: {ratio_a:.2f})"
            )
        ratio_b = replay_large["per_second"] / scan_large["per_second"]
        growth = replay_large["peak_rss_mib"] / replay_small["peak_rss_mib"]
        out("")
        out(f"(a)/(c) = {ratio_a:.2f}   target >= 1.5   {'met' if ratio_a >= 1.5 else 'NOT met'}")
        if consumed:
            ratio_e = consumed["batch"]["per_second"] / raw
            out(
                f"(e batches)/(c) = {ratio_e:.2f}   target >= 1.5   {'met' if ratio_e >= 1.5 else 'NOT met'}   "
                f"(one by one {consumed['one']['per_second'] / raw:.2f}; batches "
                f"{consumed['batch']['per_second'] / consumed['one']['per_second']:.1f}x one by one)"
            )
        out(f"(b)/(d) = {ratio_b:.2f}   target >= 0.5   {'met' if ratio_b >= 0.5 else 'NOT met'}")
        out(
            f"replay peak memory {replay_small['peak_rss_mib']:.0f} MiB at {scan_small['events']:,.0f} events, "
            f"{replay_large['peak_rss_mib']:.0f} MiB at {scan_large['events']:,.0f} events "
            f"(x{growth:.2f}; {'flat' if growth < 1.2 else 'GROWS'})"
        )
        load = os.getloadavg()
        out(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
        return 0
    finally:
        drop_database(server, name)


def _process_worker(
    url: str,
    loans: int,
    repayments: int,
    senders: int,
    index: int,
    lock: Any,
    barrier: Any,
    results: Any,
) -> None:
    # One process at a time creates its tables: concurrent CREATE ... IF NOT EXISTS can collide
    # in PostgreSQL ("tuple concurrently updated"; eventsourcing.md §1.4).
    with lock:
        container = container_for(url, writer=True)
    try:
        owned = open_loans(container, loans)
        post_repayments(container, owned, min(2_000, repayments), senders, 0.0, f"W{index}")
        barrier.wait(timeout=1800)
        results.put(post_repayments(container, owned, repayments, senders, 0.03, f"M{index}"))
    except Exception as exc:
        barrier.abort()  # the other processes stop waiting
        results.put({"failed": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        container.close()


def post_from_processes(url: str, args: argparse.Namespace) -> dict[str, float]:
    """N processes, each a ledger with its own group-commit writer, posting at the same moment.

    Loans are partitioned between processes (as a deployment routing by loan would); receipts are
    global, so a resend reaching another process would still be caught by the receipt's unique id.
    """
    context = multiprocessing.get_context("spawn")
    lock, barrier, results = context.Lock(), context.Barrier(args.processes), context.Queue()
    share = args.repayments // args.processes
    workers = [
        context.Process(
            target=_process_worker,
            args=(
                url,
                args.loans // args.processes,
                share,
                args.senders,
                i,
                lock,
                barrier,
                results,
            ),
        )
        for i in range(args.processes)
    ]
    for w in workers:
        w.start()
    parts = [results.get(timeout=1800) for _ in workers]
    for w in workers:
        w.join()
    failed = [p["failed"] for p in parts if "failed" in p]
    if failed:
        raise RuntimeError(f"a ledger process failed: {failed[0]}")
    done = {k: sum(p[k] for p in parts) for k in ("posted", "duplicate", "errors")}
    slowest = max(p["seconds"] for p in parts)
    return {
        **done,
        "seconds": slowest,
        "per_second": (done["posted"] + done["duplicate"]) / slowest,
    }


def fill(container: Container, loans: list[uuid.UUID], events: int, senders: int) -> None:
    if events > 0:  # about two events per repayment (the receipt and the loan's posting)
        post_repayments(
            container, loans, events // 2 + senders, senders, 0.0, f"F{uuid.uuid4().hex[:6]}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_replay":
        _replay_child(sys.argv[2])
        raise SystemExit(0)
    raise SystemExit(main())
