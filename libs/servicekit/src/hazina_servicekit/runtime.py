"""Running a service process: its NATS link, its background workers, and uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from hazina_contracts.subjects import Stream
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.messaging import connect, ensure_stream

log = structlog.get_logger(__name__)

Worker = Callable[[asyncio.Event], Awaitable[None]]


class NatsLink:
    """A NATS connection made in the background and retried until it succeeds.

    A service starts and answers HTTP while NATS is down; its readiness says so, and its
    outbox keeps events until the link is up.
    """

    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self.name = name
        self.nc: NatsClient | None = None
        self._connected = asyncio.Event()
        self._connecting = asyncio.Lock()

    async def wait(self, stop: asyncio.Event) -> JetStreamContext | None:
        # Several workers share one link: only one of them connects, the others wait for it
        # (without the lock each made its own connection and all but the last leaked).
        async with self._connecting:
            while self.nc is None and not stop.is_set():
                try:
                    self.nc = await connect(self.url, name=self.name)
                    self._connected.set()
                except Exception as exc:
                    log.warning("nats_connect_failed", error=str(exc))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=1.0)
        return self.nc.jetstream() if self.nc else None

    async def ready(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def close(self) -> None:
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()
            self.nc = None


@contextlib.asynccontextmanager
async def running_workers(
    workers: Sequence[Worker], *, on_shutdown: Sequence[Callable[[], Awaitable[None]]] = ()
) -> AsyncIterator[None]:
    """A service's background workers for its app's lifetime (a FastAPI lifespan).

    On the way out the workers are told to stop and given five seconds each; the
    ``on_shutdown`` hooks run after them, since the workers may still be using what they close.
    """
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker(stop)) for worker in workers]
    try:
        yield
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=5)
        for close in on_shutdown:
            with contextlib.suppress(Exception):
                await close()


def stream_worker(
    link: NatsLink,
    stream: Stream,
    run: Callable[[JetStreamContext, asyncio.Event], Awaitable[None]],
    *,
    duplicate_window_seconds: int = 3600,
) -> Worker:
    """A worker that waits for NATS, makes sure its stream exists, then runs ``run`` until stopped."""

    async def worker(stop: asyncio.Event) -> None:
        js = await link.wait(stop)
        if js is None:
            return
        while not stop.is_set():
            try:
                await ensure_stream(js, stream, duplicate_window_seconds=duplicate_window_seconds)
                await run(js, stop)
            except Exception as exc:
                log.error("worker_failed", error=str(exc), stream=stream.value)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=2.0)

    return worker


def consumer_worker(
    link: NatsLink,
    make_consumer: Callable[[JetStreamContext], DurableConsumer],
    *,
    duplicate_window_seconds: int = 3600,
) -> Worker:
    """A worker running one durable consumer; the stream it reads is created if its producer has not yet."""

    async def worker(stop: asyncio.Event) -> None:
        js = await link.wait(stop)
        if js is None:
            return
        while not stop.is_set():
            try:
                consumer = make_consumer(js)
                stream = (
                    Stream(consumer.stream)
                    if consumer.stream in Stream.__members__
                    else consumer.stream
                )
                await ensure_stream(js, stream, duplicate_window_seconds=duplicate_window_seconds)
                await consumer.run(stop)
            except Exception as exc:
                log.error("consumer_failed", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=2.0)

    return worker


# uvicorn keeps an idle connection this long; the front door (Caddy) forgets idle upstream
# connections sooner (its ``keepalive``), so it is always the proxy that closes one and never
# sends a request on a connection the service is closing at that moment (a 502 for the caller).
KEEP_ALIVE_SECONDS = 75


def server_options(*, port: int, host: str | None = None) -> dict[str, Any]:
    """How every service runs under uvicorn: X-Forwarded-For trusted only from the front door's
    addresses, no ``Server`` banner, idle connections kept longer than the front door keeps them.
    """
    return {
        "host": host or os.environ.get("HAZINA_BIND_HOST", "127.0.0.1"),
        "port": port,
        "proxy_headers": True,
        "forwarded_allow_ips": os.environ.get("HAZINA_TRUSTED_PROXIES", "127.0.0.1"),
        "server_header": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
    }


def server_config(app: FastAPI, *, port: int, host: str | None = None) -> uvicorn.Config:
    """The same, for a test that runs ``uvicorn.Server`` itself (to test what runs)."""
    return uvicorn.Config(app, **server_options(port=port, host=host))


def serve(app: FastAPI, *, port: int, host: str | None = None) -> None:
    """Run ``app`` until the process is told to stop (exits non-zero if it cannot start)."""
    uvicorn.run(app, **server_options(port=port, host=host))
