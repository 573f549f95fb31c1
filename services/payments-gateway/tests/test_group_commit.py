"""Group commit of callbacks: each raw callback is committed before it is answered, repeats of one
M-Pesa receipt inside one committed group and across groups (sent concurrently) record one
payment and publish one ``PaymentReceived``, a repeat with other data is still a conflict, and a
commit that fails answers no 200.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from payments_harness import Gateway, wait_until

from hazina_payments_gateway.adapters.inbox import InboxWriter
from hazina_servicekit.database import conninfo_for


def confirmation(receipt: str, amount: str = "250.00") -> bytes:
    return json.dumps(
        {
            "TransactionType": "Pay Bill",
            "TransID": receipt,
            "TransTime": "20250201143005",
            "TransAmount": amount,
            "BusinessShortCode": "600984",
            "BillRefNumber": "LN000777",
            "InvoiceNumber": "",
            "OrgAccountBalance": "",
            "ThirdPartyTransID": "",
            "MSISDN": "2547 ***** 678",
            "FirstName": "JANE",
            "MiddleName": "",
            "LastName": "",
        }
    ).encode()


async def store_together(gateway: Gateway, bodies: list[bytes]) -> tuple[list[int], int]:
    """Queue every body before the one committer runs (asyncio runs the store calls, which queue
    at once, before the committer they wake), so they are committed as one group; returns the
    row ids and how many groups were committed."""
    settings = gateway.container.settings
    writer = InboxWriter(
        conninfo_for(settings.database_url), settings.db_schema, committers=1, max_group=256
    )
    await writer.open()
    try:
        ids = await asyncio.gather(
            *(writer.store("c2b_confirmation", body, "127.0.0.1") for body in bodies)
        )
        return list(ids), writer.groups
    finally:
        await writer.close()


def rows_of(gateway: Gateway, receipt: str) -> list[dict[str, Any]]:
    with gateway.container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT id, status, outcome FROM callback_inbox "
            "WHERE convert_from(body, 'UTF8')::jsonb ->> 'TransID' = %s ORDER BY id",
            (receipt,),
        ).fetchall()
    return [{"id": r[0], "status": r[1], "outcome": r[2]} for r in rows]


def settled(gateway: Gateway, receipt: str, count: int) -> list[dict[str, Any]]:
    return wait_until(
        lambda: (
            (rows := rows_of(gateway, receipt))
            and len(rows) == count
            and all(r["status"] != "pending" for r in rows)
            and rows
        ),
        timeout=20,
        what=f"{count} settled rows of {receipt}",
    )


def payments_received(gateway: Gateway, receipt: str) -> list[dict[str, Any]]:
    return [e.data for e in gateway.events(type_="PaymentReceived") if e.data["receipt"] == receipt]


def test_repeats_in_one_group_and_across_groups_record_one_payment(gateway: Gateway) -> None:
    # One committed group with each receipt twice (and a third receipt once).
    first, groups = asyncio.run(
        store_together(
            gateway,
            [
                confirmation("TGC0000001"),
                confirmation("TGC0000002", "99.00"),
                confirmation("TGC0000001"),
                confirmation("TGC0000002", "99.00"),
                confirmation("TGC0000003", "10.00"),
            ],
        )
    )
    assert groups == 1 and len(set(first)) == 5
    # Another group, concurrently with callers through the front door: the same receipts again,
    # and one repeat of TGC0000003 that disagrees on the amount (a conflict, not a duplicate).
    with ThreadPoolExecutor(max_workers=8) as pool:
        calling = pool.map(  # submitted now; answered while the group below is stored
            lambda body: gateway.callback("c2b/confirmation", body).status_code,
            [confirmation("TGC0000001")] * 4 + [confirmation("TGC0000002", "99.00")] * 4,
        )
        _, groups = asyncio.run(
            store_together(
                gateway,
                [confirmation("TGC0000001"), confirmation("TGC0000003", "11.00")],
            )
        )
        answers = list(calling)
    assert answers == [200] * 8 and groups == 1

    # Every raw callback is kept; one of each receipt is recorded, the others are duplicates.
    one = settled(gateway, "TGC0000001", 7)
    two = settled(gateway, "TGC0000002", 6)
    three = settled(gateway, "TGC0000003", 2)
    assert sorted(r["outcome"] for r in one) == ["duplicate"] * 6 + ["recorded"]
    assert sorted(r["outcome"] for r in two) == ["duplicate"] * 5 + ["recorded"]
    assert [(r["outcome"], r["status"]) for r in three] == [
        ("recorded", "processed"),
        ("conflict", "flagged"),
    ]
    with gateway.container.pool.connection() as conn:
        stored = conn.execute(
            "SELECT receipt, amount_cents FROM payments_received WHERE receipt LIKE 'TGC%%' "
            "ORDER BY receipt"
        ).fetchall()
    assert stored == [("TGC0000001", 25_000), ("TGC0000002", 9_900), ("TGC0000003", 1_000)]

    # One PaymentReceived per receipt (the conflict goes out once more, as what the repeat said).
    wait_until(
        lambda: len(payments_received(gateway, "TGC0000003")) == 2,
        timeout=20,
        what="the conflict published",
    )
    assert [e["amount_cents"] for e in payments_received(gateway, "TGC0000001")] == [25_000]
    assert [e["amount_cents"] for e in payments_received(gateway, "TGC0000002")] == [9_900]
    assert sorted(e["amount_cents"] for e in payments_received(gateway, "TGC0000003")) == [
        1_000,
        1_100,
    ]


def test_the_raw_row_is_committed_before_the_answer_and_a_failed_commit_is_no_200(
    gateway: Gateway,
) -> None:
    body = confirmation("TGC0000010")
    assert gateway.callback("c2b/confirmation", body).status_code == 200
    # Answered, so committed: another connection sees the exact bytes at once.
    settings = gateway.container.settings
    with psycopg.connect(settings.database_url) as conn:
        found = conn.execute(
            f"SELECT body FROM {settings.db_schema}.callback_inbox WHERE body = %s",  # noqa: S608
            (body,),
        ).fetchall()
    assert [bytes(r[0]) for r in found] == [body]

    # A check that only fails at commit time (a deferred constraint trigger): the group's commit
    # fails, so the caller gets a 503 and may send it again, never "Success".
    with gateway.container.pool.connection() as conn:
        conn.execute(
            """
            CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF position('TGC0000011' in convert_from(NEW.body, 'UTF8')) > 0 THEN
                    RAISE EXCEPTION 'refused at commit';
                END IF;
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON callback_inbox
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
            """
        )
    refused = gateway.callback("c2b/confirmation", confirmation("TGC0000011"))
    assert refused.status_code == 503
    assert refused.json()["ResultCode"] != 0
    assert rows_of(gateway, "TGC0000011") == []
    with gateway.container.pool.connection() as conn:
        conn.execute("DROP TRIGGER refuse_at_commit ON callback_inbox")
    # Sent again once the store works: stored, answered, recorded once.
    assert gateway.callback("c2b/confirmation", confirmation("TGC0000011")).status_code == 200
    assert [r["outcome"] for r in settled(gateway, "TGC0000011", 1)] == ["recorded"]
