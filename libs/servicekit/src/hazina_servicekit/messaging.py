"""NATS JetStream connections and the streams services publish to."""

from __future__ import annotations

import nats
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from hazina_contracts.subjects import DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM, Stream

log = structlog.get_logger(__name__)


async def connect(nats_url: str, *, name: str) -> NatsClient:
    """A connection that keeps reconnecting for as long as the process lives."""

    async def _disconnected() -> None:
        log.warning("nats_disconnected")

    async def _reconnected() -> None:
        log.info("nats_reconnected")

    async def _error(exc: Exception) -> None:
        log.warning("nats_error", error=str(exc))

    return await nats.connect(
        nats_url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
        disconnected_cb=_disconnected,
        reconnected_cb=_reconnected,
        error_cb=_error,
    )


def stream_config(stream: Stream | str, *, duplicate_window_seconds: int = 3600) -> StreamConfig:
    if isinstance(stream, Stream):
        name, subjects = stream.value, [stream.wildcard]
    else:
        name, subjects = stream, [f"{DEAD_LETTER_PREFIX}.>"]
    return StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=float(duplicate_window_seconds),
        deny_delete=True,
        deny_purge=False,
    )


async def ensure_stream(
    js: JetStreamContext, stream: Stream | str, *, duplicate_window_seconds: int = 3600
) -> None:
    """Create the stream, or bring its configuration up to date; safe to call from every process."""
    config = stream_config(stream, duplicate_window_seconds=duplicate_window_seconds)
    try:
        await js.stream_info(str(config.name))
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def ensure_all_streams(js: JetStreamContext, *, duplicate_window_seconds: int = 3600) -> None:
    for stream in Stream:
        await ensure_stream(js, stream, duplicate_window_seconds=duplicate_window_seconds)
    await ensure_stream(js, DEAD_LETTER_STREAM, duplicate_window_seconds=duplicate_window_seconds)
