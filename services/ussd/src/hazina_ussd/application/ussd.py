"""The USSD use cases: answer a hop, and what staff do to a borrower's access.

A hop reads what it needs in one round trip and saves its session in another, only if no other
hop of the session saved meanwhile (otherwise it runs again on what that one saved): a hop
repeated with the same text gets the answer it got before and does nothing again; a new answer
goes through the menu (``domain.menu``) and the effects it asks for are carried out before the
session is saved. Effects are idempotent on their own (ids derive from the session; a wrong PIN
is counted once per attempt), so a crash between them and the save repeats nothing either.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from hazina_servicekit.eventstore import EventStoreApplication
from hazina_servicekit.retry import retry_on_conflict
from hazina_ussd.application.ports import (
    BorrowerDirectory,
    ClientRecord,
    Clock,
    HopStore,
    HopView,
    Notice,
    PinHasher,
    RateCheck,
    SavedHop,
    SessionEnded,
    SmsOutbox,
)
from hazina_ussd.domain import menu, texts
from hazina_ussd.domain.access import BorrowerAccess
from hazina_ussd.domain.limit import BorrowerLimit, History, LimitPolicy, borrower_limit
from hazina_ussd.domain.requests import LoanApplication, RepaymentPrompt, reference_of, request_id
from hazina_ussd.domain.texts import Language, kes

log = structlog.get_logger(__name__)


# Screens whose answer is a PIN (or that lead to setting one): they read the access record.
PIN_SCREENS = frozenset(
    {"closed", "setup_id", "setup_pin", "confirm_pin", "login", "pin_current", "pin_new"}
)


class NotFoundError(Exception):
    pass


@dataclass(frozen=True)
class Hop:
    """One request from Africa's Talking."""

    session_id: str
    phone: str  # an Msisdn
    text: str
    service_code: str


@dataclass(frozen=True)
class RateLimits:
    per_phone: int = 60
    per_phone_window_seconds: int = 60
    per_session: int = 40


@dataclass(frozen=True)
class UssdPolicy:
    offer: menu.Offer
    limit: LimitPolicy
    product_type: str
    default_language: Language = "en"
    session_seconds: int = 180
    rates: RateLimits = RateLimits()


@dataclass(frozen=True)
class LimitView:
    client_id: uuid.UUID
    limit: BorrowerLimit
    history: History


class Ussd(EventStoreApplication):
    def __init__(
        self,
        env: dict[str, str],
        *,
        clock: Clock,
        hasher: PinHasher,
        hops: HopStore,
        directory: BorrowerDirectory,
        outbox: SmsOutbox,
        policy: UssdPolicy,
    ) -> None:
        super().__init__(env=env)
        self.clock = clock
        self.hasher = hasher
        self.hops = hops
        self.directory = directory
        self.outbox = outbox
        self.policy = policy

    # A hop

    def answer(self, hop: Hop) -> str:
        rates = self.policy.rates
        checks = [
            RateCheck(f"phone:{hop.phone}", rates.per_phone, rates.per_phone_window_seconds),
            RateCheck(f"session:{hop.session_id}", rates.per_session, 3600),
        ]
        for _ in range(3):
            now = self.clock.now()
            view = self.hops.begin(hop.session_id, hop.phone, checks, now)
            language = self.policy.default_language
            if not view.allowed:
                return "END " + texts.screen("busy", language)
            stored = view.session
            if stored.state is not None:
                language = cast(Language, stored.state.get("lang", language))
                if stored.expires_at is not None and stored.expires_at <= now:
                    return "END " + texts.screen("expired", language)
                if hop.text == stored.last_text:
                    return stored.last_reply
            step = self._run(hop, view)
            expires_at = now + timedelta(seconds=self.policy.session_seconds)
            saved = SavedHop(step.state, hop.text, step.reply, expires_at)
            if self.hops.save(hop.session_id, hop.phone, view.version, saved, now):
                return step.reply
            # Another hop of this session (Africa's Talking repeating itself) saved first: its
            # effects and ours are the same ones, so run again on what it saved.
        raise RuntimeError("the session kept changing")

    def session_ended(self, ended: SessionEnded) -> bool:
        """Africa's Talking says the session is over (the borrower hung up, the network timed it
        out, or our END): nothing more of it is answered, and how it ended is kept."""
        closed = self.hops.end(ended, self.clock.now())
        if closed and ended.status != "Success":
            log.info("ussd_session_ended", session_id=ended.session_id, status=ended.status)
        return closed

    def _run(self, hop: Hop, view: HopView) -> menu.Step:
        state, last_text = view.session.state, view.session.last_text
        client = view.client
        ctx = self._context(hop, view, state)
        if state is None:
            step = menu.start(ctx)
            parts = hop.text.split("*") if hop.text else []
        else:
            step = menu.Step(state, "", False)
            if last_text and hop.text.startswith(last_text + "*"):
                parts = [hop.text[len(last_text) + 1 :]]
            elif not last_text:
                parts = [hop.text]
            else:  # the gateway did not send the path we expect: take the newest answer
                parts = [hop.text.rsplit("*", 1)[-1]]
        for index, part in enumerate(parts):
            step = menu.answer(step.state, part, ctx)
            if step.effects and client is not None:
                self._carry_out(hop, client, ctx, step.effects, attempt=f"{hop.text}#{index}")
                ctx = self._context(hop, view, step.state)
        return step

    def _context(self, hop: Hop, view: HopView, state: dict[str, Any] | None) -> menu.Context:
        # Past the PIN, a session needs the access record only where a PIN is asked again: the
        # PIN was verified once (the session, keyed by Africa's Talking's sessionId and the phone,
        # remembers it), the language is in the session, and a lock needs a PIN to be asked.
        client = view.client
        signed_in = state is not None and state.get("screen") not in PIN_SCREENS
        access = self._access(client.client_id) if client and not signed_in else None
        borrower = None
        if client is not None and view.borrower is not None:
            found, history = view.borrower
            limit = borrower_limit(history, self.policy.limit)
            borrower = menu.Borrower(
                client_id=found.client_id,
                name=found.name,
                national_id=found.national_id,
                approved=found.approved,
                loans=found.loans,
                savings_cents=found.savings_cents,
                limit=limit,
            )
        pin_hash = access.pin_hash if access else None

        def verify(pin: str) -> bool:
            return pin_hash is not None and self.hasher.verify(pin_hash, pin)

        if signed_in and state is not None:
            known = menu.Access(has_pin=True, language=cast(Language, state.get("lang", "en")))
        else:
            known = menu.Access(
                has_pin=access is not None,
                locked=bool(access and access.locked),
                wrong_pins=access.wrong_pins if access else 0,
                language=cast(Language, access.language)
                if access
                else self.policy.default_language,
            )
        return menu.Context(
            borrower=borrower,
            access=known,
            offer=self.policy.offer,
            verify_pin=verify,
            reference=reference_of(request_id(hop.session_id, "application")),
        )

    def _access(self, client_id: uuid.UUID) -> BorrowerAccess | None:
        try:
            found: BorrowerAccess = self.repository.get(BorrowerAccess.create_id(client_id))
        except AggregateNotFoundError:
            return None
        return found

    def _carry_out(
        self,
        hop: Hop,
        client: ClientRecord,
        ctx: menu.Context,
        effects: tuple[menu.Effect, ...],
        *,
        attempt: str,
    ) -> None:
        for effect in effects:
            match effect:
                case menu.SetPin(pin=pin):
                    self._set_pin(client, pin, ctx.access.language)
                case menu.PinFailed():
                    self._pin_failed(hop, client, attempt)
                case menu.PinAccepted():
                    self._change_access(client.client_id, BorrowerAccess.pin_accepted)
                case menu.ChangeLanguage(language=language):
                    self._change_access(client.client_id, lambda a: a.choose_language(language))
                case menu.ApplyForLoan():
                    self._apply(hop, client, ctx, effect)
                case menu.RequestPrompt():
                    self._prompt(hop, client, effect)

    def _set_pin(self, client: ClientRecord, pin: str, language: Language) -> None:
        pin_hash = self.hasher.hash(pin)
        access = self._access(client.client_id)
        if access is None:
            access = BorrowerAccess(
                client_id=client.client_id, pin_hash=pin_hash, language=language
            )
        else:
            access.change_pin(pin_hash)
        self._save_once(access)

    def _pin_failed(self, hop: Hop, client: ClientRecord, attempt: str) -> None:
        # Counted on top of another hop that saved first: a wrong PIN is never left uncounted.
        key = f"{hop.session_id}:{attempt}"
        access = self._change_access(client.client_id, lambda access: access.wrong_pin(key))
        if access is not None and access.locked and access.last_attempt == key:  # this one locked
            log.info("ussd_pin_locked", client_id=str(client.client_id))
            self.outbox.enqueue(
                Notice(
                    key=f"pin-locked:{client.client_id}:{access.locks}",
                    client_id=client.client_id,
                    phone=client.phone,
                    kind="pin_locked",
                    language=access.language,
                    text=texts.sms("pin_locked", cast(Language, access.language)),
                )
            )

    def _change_access(
        self, client_id: uuid.UUID, change: Callable[[BorrowerAccess], object]
    ) -> BorrowerAccess | None:
        """Apply ``change`` and save, again on top of a concurrent hop; None: no PIN set up."""

        def attempt() -> BorrowerAccess | None:
            access = self._access(client_id)
            if access is None:
                return None
            change(access)
            self.save(access)
            return access

        return retry_on_conflict(attempt)

    def _save_once(self, *aggregates: Any) -> bool:
        """Save; False when a repeated request had already saved these (same ids)."""
        try:
            self.save(*aggregates)
        except IntegrityError:
            return False
        return True

    def _apply(
        self, hop: Hop, client: ClientRecord, ctx: menu.Context, effect: menu.ApplyForLoan
    ) -> None:
        application = LoanApplication(
            session_id=hop.session_id,
            client_id=client.client_id,
            national_id=client.national_id,
            phone=hop.phone,
            amount_cents=effect.amount_cents,
            term=effect.term,
            purpose=effect.purpose,
            product_type=self.policy.product_type,
            reference=ctx.reference,
            limit_cents=ctx.borrower.limit.limit_cents
            if ctx.borrower and ctx.borrower.limit
            else 0,
        )
        self._save_once(application)
        language = ctx.access.language
        self.outbox.enqueue(
            Notice(
                key=f"application:{application.id}",
                client_id=client.client_id,
                phone=client.phone,
                kind="application",
                language=language,
                text=texts.sms(
                    "application",
                    language,
                    amount=kes(effect.amount_cents),
                    reference=ctx.reference,
                ),
            )
        )

    def _prompt(self, hop: Hop, client: ClientRecord, effect: menu.RequestPrompt) -> None:
        self._save_once(
            RepaymentPrompt(
                session_id=hop.session_id,
                client_id=client.client_id,
                loan_id=effect.loan_id,
                phone=hop.phone,
                amount_cents=effect.amount_cents,
                account_reference=effect.account_number,
            )
        )

    # Staff

    def unlock(self, client_id: uuid.UUID, by: uuid.UUID) -> bool:
        """Unlock a borrower's USSD; False when it was not locked (nothing changes)."""

        def attempt() -> bool:
            access = self._access(client_id)
            if access is None:
                raise NotFoundError(f"Client {client_id} has no USSD PIN")
            if not access.unlock(by):
                return False
            self.save(access)
            return True

        return retry_on_conflict(attempt)

    def limit_of(self, client_id: uuid.UUID) -> LimitView:
        client = self.directory.client(client_id)
        if client is None:
            raise NotFoundError(f"No client {client_id}")
        _, history = self.directory.borrower(client)
        return LimitView(client_id, borrower_limit(history, self.policy.limit), history)

    def access_language(self, client_id: uuid.UUID) -> Language:
        access = self._access(client_id)
        return cast(Language, access.language) if access else self.policy.default_language
