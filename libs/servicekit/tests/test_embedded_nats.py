"""The embedded NATS of a throwaway run starts on empty streams; a kept one keeps them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest

from hazina_servicekit import infra

pytestmark = pytest.mark.integration


def _stream_messages(url: str, publish: int) -> int:
    """Publish ``publish`` messages to a stream (made if missing); how many it then holds."""

    async def scenario() -> int:
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(name="KEPT", subjects=["kept.>"])
        for n in range(publish):
            await js.publish("kept.one", str(n).encode())
        held = (await js.stream_info("KEPT")).state.messages
        await nc.close()
        return int(held)

    return asyncio.run(scenario())


def test_a_fresh_server_starts_without_an_earlier_runs_streams(tmp_path: Path) -> None:
    first = infra.start_nats(tmp_path / "nats")
    try:
        assert _stream_messages(first.url, 3) == 3
    finally:
        first.stop()

    kept = infra.start_nats(tmp_path / "nats")
    try:
        assert _stream_messages(kept.url, 0) == 3  # the store was kept
    finally:
        kept.stop()

    fresh = infra.start_nats(tmp_path / "nats", fresh=True)
    try:
        assert _stream_messages(fresh.url, 0) == 0
    finally:
        fresh.stop()
