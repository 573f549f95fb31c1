"""``hazina-ledger replay | verify | balance | assess-arrears``: audit and rebuild for operators."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import time
from typing import Any, TextIO

import psycopg
from psycopg import sql

from hazina_ledger.adapters.audit import (
    AuditReport,
    check_books,
    check_held_disbursements,
    check_loans,
    compare_schemas,
)
from hazina_ledger.adapters.read_models import (
    DDL,
    NAME,
    READ_MODEL_TABLES,
    SUMMED_TABLES,
    read_side_projection,
)
from hazina_ledger.adapters.views import LedgerViews
from hazina_ledger.bootstrap import Container, build
from hazina_ledger.domain.accounts import CHART
from hazina_ledger.replay_share import (
    ShareJob,
    StartedShare,
    peak_rss_mib,
    rare_collections,
    rebuild_share,
)
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit.auth import Jwks, TokenVerifier
from hazina_servicekit.database import ensure_schema, open_pool
from hazina_servicekit.eventstore import events_table


def _out(text: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")


class ProgressBar:
    """events done / total, events per second and the time left, redrawn in place on stderr."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.perf_counter()
        self.done = 0

    def update(self, position: int, done: int) -> None:
        self.done = done
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = done / elapsed
        fraction = min(position / self.total, 1.0)
        left = (self.total - position) / rate if rate > 0 else 0.0
        bar = "#" * int(fraction * self.width)
        self.stream.write(
            f"\rreplay [{bar:<{self.width}}] {position:,}/{self.total:,} events  {rate:,.0f} ev/s  ETA {left:,.1f}s "
        )
        self.stream.flush()

    def finish(self) -> float:
        self.stream.write("\n")
        return time.perf_counter() - self.started


def _max_position(container: Container) -> int:
    table = events_table(container.ledger)
    with container.pool.connection() as conn:
        row = conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {table}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def drop_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def prepare_bulk_load(conn: psycopg.Connection[Any]) -> None:
    """Make the scratch schema's read tables cheap to fill: no WAL (UNLOGGED: the schema is a
    throwaway copy, dropped after the comparison) and no secondary index kept up row by row (the
    read side's lookups go by primary keys, which stay; its DDL builds the others afterwards)."""
    for table in READ_MODEL_TABLES:
        conn.execute(sql.SQL("ALTER TABLE {} SET UNLOGGED").format(sql.Identifier(table)))
    secondary = conn.execute(
        "SELECT indexname FROM pg_indexes i WHERE schemaname = current_schema() "
        "AND tablename = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        (list(READ_MODEL_TABLES),),
    ).fetchall()
    for (index,) in secondary:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index)))


def rebuild_in_parallel(
    container: Container,
    pool: Any,
    *,
    stop: int,
    workers: int,
    page_size: int,
    bar: ProgressBar,
) -> tuple[int, float]:
    """Rebuild the events up to ``stop`` split by aggregate over ``workers`` processes: this one
    and ``workers - 1`` started for it (``replay_share``, which imports little).

    Each applies its aggregates' events in its own connection and transactions; the sums they
    share are kept per worker and added up here, and the rebuild's own position is set to where
    they all stopped. Returns the events read and the started workers' largest peak RSS in MiB."""
    settings = container.settings
    scratch = f"{settings.db_schema}_replay"
    with pool.connection() as conn, conn.transaction():
        for table in SUMMED_TABLES:
            for worker in range(workers):
                conn.execute(
                    sql.SQL("CREATE UNLOGGED TABLE {} (LIKE {} INCLUDING ALL)").format(
                        sql.Identifier(f"{table}_{worker}"), sql.Identifier(table)
                    )
                )
    jobs = [
        ShareJob(settings.database_url, settings.db_schema, scratch, w, workers, stop, page_size)
        for w in range(workers)
    ]
    progress = [(0, 0)] * workers
    started = [StartedShare(job) for job in jobs[1:]]

    def report(position: int, done: int) -> None:
        progress[0] = (position, done)
        for share in started:
            progress[share.job.worker] = share.progress
        bar.update(min(p for p, _ in progress), sum(d for _, d in progress))

    try:
        count = rebuild_share(jobs[0], container.ledger, pool, report)
        report(stop, count)
        results = [share.wait() for share in started]
    finally:
        for share in started:
            share.stop()
    with pool.connection() as conn, conn.transaction():
        for table in SUMMED_TABLES:
            parts = [sql.Identifier(f"{table}_{w}") for w in range(workers)]
            conn.execute(
                sql.SQL(
                    "INSERT INTO {t} (account_id, code, debit_cents, credit_cents) "
                    "SELECT account_id, code, sum(debit_cents), sum(credit_cents) FROM ({parts}) s "
                    "GROUP BY account_id, code"
                ).format(
                    t=sql.Identifier(table),
                    parts=sql.SQL(" UNION ALL ").join(
                        sql.SQL("SELECT * FROM {}").format(part) for part in parts
                    ),
                )
            )
            for part in parts:
                conn.execute(sql.SQL("DROP TABLE {}").format(part))
        conn.execute(
            "DELETE FROM projection_positions WHERE projection = ANY(%s)",
            ([f"{NAME}_{w}" for w in range(workers)],),
        )
        conn.execute(
            "UPDATE projection_positions SET notification_id = %s WHERE projection = %s",
            (stop, NAME),
        )
    return count + sum(n for n, _ in results), max((rss for _, rss in results), default=0.0)


def replay(
    container: Container,
    *,
    keep: bool = False,
    quiet: bool = False,
    page_size: int = 5_000,
    workers: int | None = None,
) -> AuditReport:
    """Rebuild every read model into a scratch schema, audit it, and compare it with the live one.

    The rebuild is the live projection's own code (``read_models``) run over pages of
    ``page_size`` events into the scratch schema: it parks what it cannot apply as live does, and
    leaves out what staff skipped there. With ``workers`` above 1 (the setting
    ``replay_workers`` by default) the events up to the last one stored when it starts are split
    by aggregate over that many processes; what is stored after them is applied here.
    """
    settings = container.settings
    workers = settings.replay_workers if workers is None else workers
    scratch = f"{settings.db_schema}_replay"
    with container.pool.connection() as conn:
        drop_schema(conn, scratch)
    ensure_schema(settings.database_url, scratch)
    pool = open_pool(settings.database_url, scratch, max_size=2)
    report = AuditReport()
    try:
        rebuilt = read_side_projection(container.ledger, pool)
        with pool.connection() as conn:  # what staff left out for good stays out of the rebuild
            conn.execute(
                sql.SQL(
                    "INSERT INTO parked_events SELECT * FROM {}.parked_events "
                    "WHERE source = %s AND status = 'skipped'"
                ).format(sql.Identifier(settings.db_schema)),
                (rebuilt.name,),
            )
        stop = _max_position(container)
        bar = ProgressBar(stop, stream=io.StringIO() if quiet else None)
        with pool.connection() as conn:
            prepare_bulk_load(conn)
        worker_rss = 0.0
        if workers > 1:
            count, worker_rss = rebuild_in_parallel(
                container, pool, stop=stop, workers=workers, page_size=page_size, bar=bar
            )
        else:
            with rare_collections():
                count = rebuilt.catch_up(batch_size=page_size, progress=bar.update)
        with pool.connection() as conn:
            conn.execute(DDL)  # builds the secondary indexes again, each from sorted rows at once
        for _ in range(10):  # writes may land while we rebuild; bring both to the same position
            container.projection.catch_up()
            count += rebuilt.catch_up(progress=bar.update)
            if rebuilt.position() == container.projection.position():
                break
        seconds = bar.finish()
        report.metrics.update(
            events=count, rebuild_seconds=seconds, events_per_second=count / max(seconds, 1e-9)
        )
        report.details.append(
            f"replayed {count:,} events in {seconds:.2f}s ({count / max(seconds, 1e-9):,.0f} events/s) "
            f"by {workers} worker{'s' if workers > 1 else ''}; peak RSS {peak_rss_mib():,.0f} MiB"
            + (f" (each worker at most {worker_rss:,.0f} MiB)" if workers > 1 else "")
        )
        report.metrics["workers"] = workers
        if workers > 1:
            report.metrics["worker_rss_mib"] = worker_rss
        report.metrics["rss_after_rebuild_mib"] = peak_rss_mib()
        parked, _ = rebuilt.parking.find(status="parked", source=rebuilt.name, limit=20)
        report.details += [
            f"parked by the rebuild: event {r.position} ({r.topic}): {r.error_type}: {r.error}"
            for r in parked
        ]
        check_books(pool, report)
        check_held_disbursements(pool, report)
        check_loans(pool, container.ledger, report)
        report.metrics["rss_after_loan_audit_mib"] = peak_rss_mib()
        compare_schemas(container.pool, settings.db_schema, scratch, report)
        report.metrics["total_seconds"] = time.perf_counter() - bar.started
    finally:
        pool.close()
        if not keep:
            with container.pool.connection() as conn:
                drop_schema(conn, scratch)
    return report


def verify(container: Container) -> AuditReport:
    container.projection.catch_up()
    report = AuditReport()
    check_books(container.pool, report)
    check_held_disbursements(container.pool, report)
    check_loans(container.pool, container.ledger, report)
    parked = container.inbox.parked()
    report.details.append(f"{len(parked)} parked events waiting")
    # An event the read models could not apply is a difference between them and the store.
    unapplied, _ = container.parking.find(status="parked", source=container.projection.name)
    report.record(
        "every_event_applied",
        [f"event {r.position} ({r.topic}): {r.error_type}: {r.error}" for r in unapplied],
    )
    skipped, _ = container.parking.find(status="skipped", source=container.projection.name)
    if skipped:
        report.details.append(f"{len(skipped)} events skipped by staff are not in the read models")
    return report


def print_report(title: str, report: AuditReport) -> None:
    _out(f"{title}: {'OK' if report.ok else 'DIFFERENCES FOUND'}")
    for name, problems in report.checks.items():
        _out(
            f"  {'ok  ' if problems == 0 else 'FAIL'} {name}"
            + (f" ({problems})" if problems else "")
        )
    for line in report.details:
        _out(f"  - {line}")


def balance(
    views: LedgerViews, as_of: dt.date | None, position: int | None, account: str | None
) -> None:
    if account:
        found = views.account(account, as_of, position, 0, 0)
        net = found["debit_cents"] - found["credit_cents"]
        _out(
            f"{account} {found['account'].name}: debits {found['debit_cents']} credits {found['credit_cents']} "
            f"net {net} cents"
        )
        return
    rows = views.trial_balance(as_of, position)
    total_debit = total_credit = 0
    label = (
        f"as of {as_of.isoformat()}" if as_of else (f"at event {position}" if position else "now")
    )
    _out(f"Trial balance {label} (cents)")
    for row in rows:
        debit, credit = int(row["debit_cents"]), int(row["credit_cents"])
        total_debit += debit
        total_credit += credit
        _out(f"  {row['code']}  {CHART[row['code']].name:<45} {debit:>16,} {credit:>16,}")
    _out(f"  {'':4}  {'total':<45} {total_debit:>16,} {total_credit:>16,}")
    _out("  balanced" if total_debit == total_credit else "  NOT BALANCED")


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hazina-ledger")
    sub = parser.add_subparsers(dest="command", required=True)
    rp = sub.add_parser("replay", help="rebuild every projection from the event store and audit it")
    rp.add_argument("--keep", action="store_true", help="keep the rebuilt schema for inspection")
    rp.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes the rebuild is split over by aggregate (default: LEDGER_REPLAY_WORKERS)",
    )
    sub.add_parser("verify", help="audit the live projections without rebuilding")
    bp = sub.add_parser("balance", help="balances as of a past date or event position")
    bp.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    bp.add_argument("--position", type=int, default=None)
    bp.add_argument("--account", default=None)
    ap = sub.add_parser("assess-arrears", help="record arrears status changes as of a date")
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    settings = LedgerSettings()
    container = build(
        settings,
        start_writer=False,
        verifier=TokenVerifier(_no_keys, issuer=settings.token_issuer),
    )
    try:
        if args.command == "replay":
            report = replay(container, keep=args.keep, workers=args.workers)
            print_report("replay", report)
            return 0 if report.ok else 1
        if args.command == "verify":
            report = verify(container)
            print_report("verify", report)
            return 0 if report.ok else 1
        if args.command == "balance":
            container.projection.catch_up()
            balance(container.views, args.as_of, args.position, args.account)
            return 0
        as_of = args.as_of or container.ledger.today()
        container.projection.catch_up()
        changed = container.ledger.assess_arrears(container.views.live_loan_ids(), as_of)
        _out(f"arrears assessed as of {as_of.isoformat()}: {changed} status changes")
        return 0
    finally:
        container.close()


def _no_keys() -> Jwks:
    """The CLI serves no HTTP, so it needs no key set: its verifier knows no key."""
    return {"keys": []}
