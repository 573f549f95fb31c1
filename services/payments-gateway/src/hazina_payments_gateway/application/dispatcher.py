"""Moves open disbursements and prompts forward: send, ask Daraja after a timeout, give up on waiting.

A prompt whose callback has not come ``stk_query_after`` after it was sent is asked about with
Daraja's STK Push Query (and, when it was paid, its receipt looked up with Pull Transactions),
so a lost callback never loses a borrower's repayment.

It is the only code that calls Daraja's money-moving APIs. It records every step before it acts
(the OriginatorConversationID before the B2C request), so a crash at any point leaves a state
from which the next round asks before it pays.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import timedelta

import structlog

from hazina_payments_gateway.application.gateway import PaymentsGateway
from hazina_payments_gateway.application.ports import (
    DarajaPort,
    DisbursementIndex,
    StkQueryAnswer,
    Unknown,
)
from hazina_payments_gateway.application.records import IncomingPayment
from hazina_payments_gateway.domain.disbursement import NextAction
from hazina_payments_gateway.domain.stk_prompt import CLOCK_SLACK, PromptStatus

log = structlog.get_logger(__name__)


class Dispatcher:
    def __init__(
        self,
        app: PaymentsGateway,
        daraja: DarajaPort,
        index: DisbursementIndex,
        *,
        refresh: Callable[[], object],
        interval_seconds: float = 1.0,
        batch_size: int = 20,
        concurrency: int = 8,
    ) -> None:
        self.app = app
        self.daraja = daraja
        self.index = index
        self.refresh = refresh
        self.interval_seconds = interval_seconds
        self.batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Thread-safe: ask for a round now rather than at the next interval."""
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        log.info("dispatcher_started")
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.round()
            except Exception as exc:
                log.warning("dispatcher_round_failed", error=f"{type(exc).__name__}: {exc}")
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper},
                timeout=self.interval_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in (waiter, stopper):
                task.cancel()

    async def round(self) -> int:
        """One pass over what is due; returns how many items it looked at."""
        await asyncio.to_thread(self.refresh)
        now = self.app.clock.now()
        disbursements = await asyncio.to_thread(self.index.due, now, self.batch_size)
        prompts = await asyncio.to_thread(self.index.due_prompts, now, self.batch_size)
        late = await asyncio.to_thread(
            self.index.prompts_to_query, now, now - self.app.stk_query_after, self.batch_size
        )
        await asyncio.gather(
            *(self._guarded(self.advance_disbursement(d)) for d in disbursements),
            *(self._guarded(self.advance_prompt(p)) for p in prompts),
            *(self._guarded(self.query_prompt(p)) for p in late),
        )
        return len(disbursements) + len(prompts) + len(late)

    async def _guarded(self, coro: object) -> None:
        async with self._limit:
            try:
                await coro  # type: ignore[misc]
            except Exception as exc:
                log.warning("dispatch_failed", error=f"{type(exc).__name__}: {exc}")

    async def advance_disbursement(self, disbursement_id: uuid.UUID) -> None:
        action = await asyncio.to_thread(self.app.next_action, disbursement_id)
        if action is None:
            return
        if action == NextAction.SEND:
            order = await asyncio.to_thread(self.app.begin_send, disbursement_id)
            if order is None:
                return
            log.info("b2c_sending", disbursement_id=str(disbursement_id), ocid=order.ocid)
            try:
                result = await self.daraja.b2c_payment(order)
            except (
                Exception
            ) as exc:  # a bug or an unexpected failure mid-request: the fate is unknown
                result = Unknown(f"{type(exc).__name__}: {exc}")
            await asyncio.to_thread(
                self.app.record_send_result, disbursement_id, order.ocid, result
            )
        elif action == NextAction.QUERY_STATUS:
            disbursement = await asyncio.to_thread(self.app.get_disbursement, disbursement_id)
            ocid = disbursement.ocid
            try:
                result = await self.daraja.transaction_status(
                    ocid=ocid, receipt=None, occasion=ocid
                )
            except Exception as exc:
                result = Unknown(f"{type(exc).__name__}: {exc}")
            await asyncio.to_thread(self.app.record_status_query, disbursement_id, ocid, result)
        else:
            await asyncio.to_thread(self.app.mark_unknown, disbursement_id, action)

    async def advance_prompt(self, prompt_id: uuid.UUID) -> None:
        order = await asyncio.to_thread(self.app.begin_prompt, prompt_id)
        if order is None:
            return
        try:
            result = await self.daraja.stk_push(order)
        except Exception as exc:
            result = Unknown(f"{type(exc).__name__}: {exc}")
        await asyncio.to_thread(self.app.record_prompt_result, prompt_id, result)

    async def query_prompt(self, prompt_id: uuid.UUID) -> None:
        """Ask Daraja about a prompt whose callback is late, and record what it says."""
        prompt = await asyncio.to_thread(self.app.get_prompt, prompt_id)
        if prompt.status != PromptStatus.SENT or prompt.checkout_request_id is None:
            return
        try:
            answer = await self.daraja.stk_query(prompt.checkout_request_id)
        except Exception as exc:
            answer = StkQueryAnswer("unknown", description=f"{type(exc).__name__}: {exc}")
        found: list[IncomingPayment] = []
        if answer.state == "done" and answer.result_code == "0":
            try:
                found = await self.daraja.stk_payments(
                    prompt.status_since - CLOCK_SLACK,
                    self.app.clock.now() + timedelta(seconds=1),
                )
            except Exception as exc:  # asked again later; the pull may answer then
                log.warning("stk_receipt_pull_failed", error=f"{type(exc).__name__}: {exc}")
        outcome = await asyncio.to_thread(self.app.record_prompt_query, prompt_id, answer, found)
        log.info(
            "stk_prompt_queried", prompt_id=str(prompt_id), state=answer.state, outcome=outcome
        )
