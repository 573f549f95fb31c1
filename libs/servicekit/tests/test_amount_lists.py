"""Lists of amounts reach PostgreSQL as bigint arrays, against real PostgreSQL.

A consumer's batch writes one array per column (``unnest``). psycopg typed a list holding
``AmountCents`` (an ``int`` subclass) by one of its elements, so ``[224_400, 5]`` as amounts
went as ``smallint[]`` and failed, and it refused a list mixing amounts with plain ints: the
gateway's and origination's ledger batches fell back to one message at a time in the C2B bench
(``batch_failed_one_by_one``). servicekit's list dumper types such a list as plain ints.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from hazina_contracts.money import AmountCents
from hazina_servicekit.database import conninfo_for

pytestmark = pytest.mark.integration

LISTS = {
    "amounts, the largest first": [AmountCents(224_400), AmountCents(5)],
    "amounts and ints mixed": [AmountCents(5), 224_400, 3, AmountCents(3_000_000_000)],
    "amounts with a gap": [AmountCents(70_000), None, AmountCents(1)],
    "ints only": [224_400, 5],
}


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("values", LISTS.values(), ids=LISTS.keys())
def test_a_list_of_amounts_is_a_bigint_array_whatever_its_order(
    database_url: str, values: list[Any], binary: bool
) -> None:
    with psycopg.connect(conninfo_for(database_url)) as conn:
        row = conn.execute(
            "SELECT array_agg(v ORDER BY n) FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(v, n)",
            (values,),
            binary=binary,
        ).fetchone()
    assert row is not None
    assert row[0] == [None if v is None else int(v) for v in values]


def test_lists_of_other_things_are_typed_as_before(database_url: str) -> None:
    with psycopg.connect(conninfo_for(database_url)) as conn:
        row = conn.execute(
            "SELECT %s::text[], pg_typeof(%s), %s::bigint[]", (["a", "b"], [1, 2], [])
        ).fetchone()
    assert row == (["a", "b"], "smallint[]", [])
