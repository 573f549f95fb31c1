"""USSD through the front door: five-step sessions at 64 concurrent sessions, as Africa's Talking
drives them. Prints steps/s, p50 and p99 per step.

Run by ``make bench-ussd`` (``hazina_devstack with-infra`` provides DATABASE_URL and NATS_URL). The
whole system starts as ``make run`` starts it (its own database), with the per-phone rate limit
raised so that throughput, not the limiter, is measured. Borrowers are onboarded by publishing
origination's ``ClientOnboarded`` events, each sets a PIN in a first session (not timed), then
every measured session is: dial (PIN screen) -> PIN (main menu) -> 2 (loan status) -> 00 (main
menu) -> 5 (savings balance). PINs are checked with the production argon2id cost, once per
session. Figures are measured on the machine it runs on, with the load generator sharing its
cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.events.origination import ClientOnboarded
from hazina_devstack.testing import started_system
from hazina_servicekit.messaging import ensure_all_streams

PIN = "4826"  # pragma: allowlist secret
STEPS = ("", PIN, "2", "00", "5")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def publish(nats_url: str, events: list[ContractEvent]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_all_streams(js)
    for event in events:
        envelope = EventEnvelope(
            event_id=uuid.uuid4(),
            type=event.TYPE,
            version=event.VERSION,
            occurred_at=datetime.now(UTC),
            producer="bench",
            correlation_id="bench",
            subject=event.subject(),
            data=event.model_dump(mode="json"),
        )
        await js.publish(envelope.subject, envelope.to_bytes())
    await nc.close()


async def hop(
    client: httpx.AsyncClient, session_id: str, phone: str, answers: list[str]
) -> tuple[str, float]:
    started = time.perf_counter()
    response = await client.post(
        "/api/ussd",
        data={
            "sessionId": session_id,
            "serviceCode": "*384*1234#",
            "phoneNumber": phone,
            "networkCode": "63902",
            "text": "*".join(answers),
        },
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 200 or not response.text.startswith(("CON ", "END ")):
        raise RuntimeError(f"{response.status_code} {response.text[:200]}")
    return response.text, elapsed


async def session(client: httpx.AsyncClient, phone: str, steps: tuple[str, ...]) -> list[float]:
    session_id = f"ATUid_{uuid.uuid4().hex}"
    answers: list[str] = []
    timings = []
    for step in steps:
        if step:
            answers.append(step)
        reply, elapsed = await hop(client, session_id, phone, answers)
        timings.append(elapsed)
    if "Savings balance" not in reply and steps == STEPS:
        raise RuntimeError(f"unexpected last screen: {reply}")
    return timings


async def run(url: str, nats_url: str, args: argparse.Namespace) -> None:
    phones = [f"2547{10_000_000 + i:08d}" for i in range(args.borrowers)]
    ids = [f"3{10_000_000 + i}" for i in range(args.borrowers)]
    await publish(
        nats_url,
        [
            ClientOnboarded(
                occurred_at=datetime.now(UTC),
                actor_id=None,
                client_id=uuid.uuid4(),
                group_id=None,
                name=f"Bench Borrower {i}",
                national_id=ids[i],
                phone=phones[i],
                status="active",
            )
            for i in range(args.borrowers)
        ],
    )
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        deadline = time.monotonic() + 120
        while True:  # the USSD service learns of the borrowers from the ORIGINATION stream
            reply, _ = await hop(client, uuid.uuid4().hex, phones[-1], [])
            if "national ID" in reply:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the borrowers never reached the USSD service")
            await asyncio.sleep(0.5)
        gate = asyncio.Semaphore(8)

        async def sign_up(i: int) -> None:
            async with gate:
                await session(client, phones[i], ("", ids[i], PIN, PIN))

        await asyncio.gather(*(sign_up(i) for i in range(args.borrowers)))
        print(f"{args.borrowers} borrowers set their PIN; measuring {args.sessions} sessions")

        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(args.sessions):
            queue.put_nowait(n)
        timings: list[float] = []
        errors = 0

        async def caller(worker: int) -> None:
            nonlocal errors
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                # Each caller has its own borrowers: one phone, one session at a time.
                phone = phones[(worker + args.concurrency * n) % args.borrowers]
                try:
                    timings.extend(await session(client, phone, STEPS))
                except Exception as exc:
                    errors += 1
                    if errors <= 3:
                        print(f"session failed: {exc!r}")

        started = time.perf_counter()
        await asyncio.gather(*(caller(w) for w in range(args.concurrency)))
        elapsed = time.perf_counter() - started
    steps = len(timings)
    print(
        f"USSD: {steps} steps in {elapsed:.1f} s at {args.concurrency} concurrent sessions: "
        f"{steps / elapsed:.0f} steps/s, p50 {percentile(timings, 50) * 1000:.1f} ms, "
        f"p99 {percentile(timings, 99) * 1000:.1f} ms, {errors} failed sessions"
    )
    print("target: >= 2,000 steps/s and p99 < 100 ms (seed 001's service: 441 req/s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--borrowers", type=int, default=256)
    args = parser.parse_args()
    database_url = os.environ["DATABASE_URL"]
    nats_url = os.environ["NATS_URL"]
    os.environ["USSD_RATE_PER_PHONE"] = "1000000"
    os.environ["USSD_RATE_PER_SESSION"] = "1000"
    with (
        tempfile.TemporaryDirectory() as state,
        started_system(database_url, nats_url, Path(state)) as system,
    ):
        print(f"system up at {system.url}")
        asyncio.run(run(system.url, nats_url, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
