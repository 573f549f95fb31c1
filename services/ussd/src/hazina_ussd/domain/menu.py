"""The USSD menus as a pure state machine: a state and the borrower's newest answer in, the next
state, the screen and the effects to carry out out.

Africa's Talking sends every answer of the session joined by ``*``; the application keeps the
state between hops (outside the process) and hands this module one new answer at a time. Nothing
here does I/O: what the borrower is (``Borrower``), how their PIN is checked (``verify_pin``) and
what we offer (``Offer``) come in a ``Context``; what must happen (a PIN set, a loan applied for,
an STK Push requested) goes out as ``Effect`` values the application performs.

Navigation: ``0`` goes back a screen and ``00`` to the main menu once the PIN is accepted. Bad
input re-asks the same screen with a one-line reason above it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast
from uuid import UUID

from hazina_ussd.domain import texts
from hazina_ussd.domain.limit import BorrowerLimit
from hazina_ussd.domain.pin import MAX_WRONG_PINS, is_pin_shaped, weakness
from hazina_ussd.domain.schedule import Instalment
from hazina_ussd.domain.texts import FOOTER, Language, kes

BACK = "0"
HOME = "00"
MAX_LOANS_LISTED = 4
REPAYABLE = ("current", "in_arrears", "defaulted")


@dataclass(frozen=True)
class Movement:
    on: date
    kind: str  # disbursement | repayment | reversal
    amount_cents: int


@dataclass(frozen=True)
class Loan:
    loan_id: UUID
    account_number: str
    status: str  # initiated approved disbursing current in_arrears defaulted written_off repaid
    principal_cents: int
    principal_outstanding_cents: int = 0
    interest_outstanding_cents: int = 0
    outstanding_cents: int = 0
    days_in_arrears: int = 0
    next_due: Instalment | None = None
    movements: tuple[Movement, ...] = ()

    @property
    def repayable(self) -> bool:
        return self.status in REPAYABLE and self.outstanding_cents > 0


@dataclass(frozen=True)
class Borrower:
    client_id: UUID
    name: str
    national_id: str
    approved: bool
    loans: tuple[Loan, ...] = ()  # open ones: neither repaid, rejected nor written off
    savings_cents: int = 0
    limit: BorrowerLimit | None = None


@dataclass(frozen=True)
class Access:
    """What the borrower's USSD access record says (the ``BorrowerAccess`` aggregate)."""

    has_pin: bool = False
    locked: bool = False
    wrong_pins: int = 0
    language: Language = "en"


@dataclass(frozen=True)
class Offer:
    """What a USSD loan may be: from the configured product."""

    minimum_cents: int
    multiple_cents: int
    min_term: int
    max_term: int
    frequency: str
    paybill: str
    max_open_loans: int = 1


@dataclass(frozen=True)
class Context:
    borrower: Borrower | None
    access: Access
    offer: Offer
    verify_pin: Callable[[str], bool]
    reference: str  # the reference an application made in this session gets


# Effects the application carries out; the menu has already chosen the screen that follows.
@dataclass(frozen=True)
class SetPin:
    pin: str


@dataclass(frozen=True)
class PinFailed:
    pass


@dataclass(frozen=True)
class PinAccepted:
    pass


@dataclass(frozen=True)
class ChangeLanguage:
    language: Language


@dataclass(frozen=True)
class ApplyForLoan:
    amount_cents: int
    term: int
    purpose: str


@dataclass(frozen=True)
class RequestPrompt:
    loan_id: UUID
    account_number: str
    amount_cents: int


Effect = SetPin | PinFailed | PinAccepted | ChangeLanguage | ApplyForLoan | RequestPrompt


@dataclass(frozen=True)
class Step:
    state: dict[str, Any]
    text: str
    end: bool
    effects: tuple[Effect, ...] = ()

    @property
    def reply(self) -> str:
        return ("END " if self.end else "CON ") + self.text


@dataclass
class _Session:
    """The mutable working copy of a state while one answer is handled."""

    screen: str
    data: dict[str, Any]
    back: list[list[Any]]
    language: Language
    effects: list[Effect] = field(default_factory=list)

    @classmethod
    def of(cls, state: dict[str, Any]) -> _Session:
        return cls(
            screen=state["screen"],
            data=dict(state.get("data", {})),
            back=[list(x) for x in state.get("back", [])],
            language=cast(Language, state.get("lang", "en")),
        )

    def state(self) -> dict[str, Any]:
        return {"screen": self.screen, "data": self.data, "back": self.back, "lang": self.language}

    def go(self, screen: str, **data: Any) -> None:
        self.back.append([self.screen, self.data])
        self.screen, self.data = screen, data

    def home(self) -> None:
        self.screen, self.data, self.back = "main", {}, []


def start(ctx: Context) -> Step:
    """The first hop of a session (``text`` empty)."""
    language = ctx.access.language
    borrower = ctx.borrower
    state = {"screen": "closed", "data": {}, "back": [], "lang": language}
    if borrower is None:
        return Step(state, texts.screen("unknown", language), True)
    name = texts.first_name(borrower.name)
    if not borrower.approved:
        return Step(state, texts.screen("pending", language, name=name), True)
    if ctx.access.locked:
        return Step(state, texts.screen("locked", language), True)
    session = _Session("setup_id" if not ctx.access.has_pin else "login", {}, [], language)
    return _render(session, ctx)


def answer(state: dict[str, Any], text: str, ctx: Context) -> Step:
    """Handle one answer on the state's screen."""
    session = _Session.of(state)
    if session.screen == "closed":
        return Step(session.state(), texts.screen("goodbye", session.language), True)
    signed_in = session.screen not in _BEFORE_PIN
    if signed_in and text == HOME:
        session.home()
        return _render(session, ctx)
    if signed_in and text == BACK and session.screen != "main":
        if session.back:
            session.screen, session.data = session.back.pop()
        else:
            session.home()
        return _render(session, ctx)
    handler = _HANDLERS[session.screen]
    return handler(session, text.strip(), ctx)


# Rendering


def _render(
    session: _Session, ctx: Context, reason: str | None = None, **reason_values: Any
) -> Step:
    lang = session.language
    body = _body(session, ctx)
    if reason is not None:
        body = texts.reason(reason, lang, **reason_values) + "\n" + body
    return Step(session.state(), body, False, tuple(session.effects))


def _end(session: _Session, screen: str, **values: Any) -> Step:
    text = texts.screen(screen, session.language, **values)
    session.screen, session.data, session.back = "closed", {}, []
    return Step(session.state(), text, True, tuple(session.effects))


def _who(ctx: Context) -> Borrower:
    """The borrower: every screen after the first has one (``start`` ends the session without)."""
    if ctx.borrower is None:
        raise RuntimeError("a menu screen was reached without a borrower")
    return ctx.borrower


def _loan(ctx: Context, loan_id: str) -> Loan | None:
    borrower = ctx.borrower
    if borrower is None:
        return None
    return next((x for x in borrower.loans if str(x.loan_id) == loan_id), None)


def _limit_cents(ctx: Context) -> int:
    borrower = ctx.borrower
    if borrower is None or borrower.limit is None:
        return 0
    return borrower.limit.limit_cents


def _body(session: _Session, ctx: Context) -> str:
    lang, data, screen = session.language, session.data, session.screen
    borrower = _who(ctx)
    footer = FOOTER[lang]
    offer = ctx.offer
    unit = texts.TERM_UNITS.get(offer.frequency, texts.TERM_UNITS["monthly"])[lang]
    match screen:
        case "setup_id" | "login":
            return texts.screen(screen, lang, name=texts.first_name(borrower.name))
        case "apply_amount":
            return texts.screen(
                screen, lang, limit=kes(_limit_cents(ctx)), minimum=kes(offer.minimum_cents)
            )
        case "apply_term":
            return texts.screen(
                screen, lang, unit=unit, minimum=offer.min_term, maximum=offer.max_term
            )
        case "apply_confirm":
            return texts.screen(
                screen,
                lang,
                amount=kes(data["amount"]),
                term=data["term"],
                unit=unit,
                purpose=texts.PURPOSE_WORDS[data["purpose"]][lang],
            )
        case "choose_loan":
            lines = "\n".join(
                f"{i}. {loan.account_number} KES {kes(loan.outstanding_cents or loan.principal_cents)}"
                for i, loan in enumerate(_listed(ctx, data["purpose"]), start=1)
            )
            return texts.screen(screen, lang, lines=lines)
        case "loan_status":
            return _loan_status(_loan(ctx, data["loan"]), lang, footer)
        case "repay_amount":
            loan = _loan(ctx, data["loan"])
            if loan is None:
                return texts.reason("no_balance", lang) + footer
            return texts.screen(
                screen, lang, account=loan.account_number, owed=kes(loan.outstanding_cents)
            )
        case "repay_method":
            return texts.screen(screen, lang, amount=kes(data["amount"]))
        case "statement":
            loan = _loan(ctx, data["loan"])
            if loan is None:
                return texts.reason("no_loans", lang) + footer
            lines = "\n".join(
                f"{texts.short_day(m.on)} {texts.MOVEMENT_WORDS[m.kind][lang]} {kes(m.amount_cents)}"
                for m in loan.movements[:5]
            )
            return texts.screen(
                screen, lang, account=loan.account_number, lines=lines or "-", footer=footer
            )
        case "savings":
            return texts.screen(screen, lang, balance=kes(borrower.savings_cents), footer=footer)
        case _:
            return texts.screen(screen, lang)


def _loan_status(loan: Loan | None, lang: Language, footer: str) -> str:
    if loan is None:
        return texts.reason("no_loans", lang) + footer
    status = texts.LOAN_STATUS_WORDS.get(loan.status, {"en": loan.status, "sw": loan.status})[lang]
    if loan.status in ("initiated", "approved", "disbursing"):
        return texts.screen(
            "loan_applied",
            lang,
            account=loan.account_number,
            status=status,
            principal=kes(loan.principal_cents),
            footer=footer,
        )
    due = loan.next_due
    return texts.screen(
        "loan_status",
        lang,
        account=loan.account_number,
        status=status,
        principal=kes(loan.principal_outstanding_cents),
        interest=kes(loan.interest_outstanding_cents),
        next_amount=kes(due.unpaid_cents) if due else "0",
        due=texts.day(due.due_on) if due else "-",
        arrears=loan.days_in_arrears,
        footer=footer,
    )


def _listed(ctx: Context, purpose: str) -> list[Loan]:
    """The loans a list screen offers: all open ones to look at, repayable ones to pay."""
    borrower = ctx.borrower
    loans = list(borrower.loans) if borrower else []
    if purpose in ("repay", "statement"):
        loans = [x for x in loans if x.repayable or (purpose == "statement" and x.movements)]
    return loans[:MAX_LOANS_LISTED]


# Handlers: one per screen that waits for an answer.

Handler = Callable[[_Session, str, Context], Step]


def _setup_id(session: _Session, text: str, ctx: Context) -> Step:
    borrower = _who(ctx)
    if _plain_id(text) != _plain_id(borrower.national_id):
        return _render(session, ctx, "wrong_id")
    session.go("setup_pin")
    return _render(session, ctx)


def _digest(salt: str, pin: str) -> str:
    return hashlib.sha256(f"{salt}:{pin}".encode()).hexdigest()


def _plain_id(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum()).upper()


def _setup_pin(session: _Session, text: str, ctx: Context) -> Step:
    borrower = _who(ctx)
    if not is_pin_shaped(text):
        return _render(session, ctx, "pin_format")
    if weakness(text, _plain_id(borrower.national_id)):
        return _render(session, ctx, "pin_weak")
    # Only a digest of the chosen PIN waits in the session (kept 180 s) for its confirmation.
    session.go("confirm_pin", pin=_digest(ctx.reference, text), then=session.screen)
    return _render(session, ctx)


def _confirm_pin(session: _Session, text: str, ctx: Context) -> Step:
    chosen = session.data["pin"]
    came_from = session.data["then"]
    if _digest(ctx.reference, text) != chosen:
        session.screen, session.data = session.back.pop()
        return _render(session, ctx, "pin_mismatch")
    session.effects.append(SetPin(text))
    session.home()
    if came_from == "pin_new":
        return _render(session, ctx, "pin_changed")
    return _render(session, ctx)


def _login(session: _Session, text: str, ctx: Context) -> Step:
    if not is_pin_shaped(text):
        return _render(session, ctx, "pin_format")
    if ctx.verify_pin(text):
        if ctx.access.wrong_pins:
            session.effects.append(PinAccepted())
        session.home()
        return _render(session, ctx)
    session.effects.append(PinFailed())
    left = MAX_WRONG_PINS - ctx.access.wrong_pins - 1
    if left <= 0:
        return _end(session, "locked")
    return _render(session, ctx, "wrong_pin", left=left)


def _main(session: _Session, text: str, ctx: Context) -> Step:
    borrower = _who(ctx)
    match text:
        case "1":
            if len(borrower.loans) >= ctx.offer.max_open_loans:
                return _render(session, ctx, "open_loan")
            if _limit_cents(ctx) < ctx.offer.minimum_cents:
                return _render(session, ctx, "no_limit")
            session.go("apply_amount")
        case "2" | "3" | "4":
            purpose = {"2": "status", "3": "repay", "4": "statement"}[text]
            loans = _listed(ctx, purpose)
            if not loans:
                return _render(session, ctx, "no_balance" if purpose == "repay" else "no_loans")
            if len(loans) > 1:
                session.go("choose_loan", purpose=purpose)
            else:
                _open_loan(session, purpose, loans[0])
        case "5":
            session.go("savings")
        case "6":
            session.go("settings")
        case _:
            return _render(session, ctx, "invalid_option")
    return _render(session, ctx)


def _open_loan(session: _Session, purpose: str, loan: Loan) -> None:
    screen = {"status": "loan_status", "repay": "repay_amount", "statement": "statement"}[purpose]
    session.go(screen, loan=str(loan.loan_id))


def _choose_loan(session: _Session, text: str, ctx: Context) -> Step:
    loans = _listed(ctx, session.data["purpose"])
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= len(loans):
        return _render(session, ctx, "invalid_option")
    _open_loan(session, session.data["purpose"], loans[int(text) - 1])
    return _render(session, ctx)


def _shillings(text: str) -> int | None:
    """A whole-shilling amount typed on a keypad, in cents; None when it is not one."""
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        return None
    return int(text) * 100


def _apply_amount(session: _Session, text: str, ctx: Context) -> Step:
    offer, limit = ctx.offer, _limit_cents(ctx)
    cents = _shillings(text)
    if cents is None:
        return _render(session, ctx, "digits_only")
    if cents < offer.minimum_cents:
        return _render(session, ctx, "below_minimum", minimum=kes(offer.minimum_cents))
    if cents > limit:
        return _render(session, ctx, "above_limit", limit=kes(limit))
    if offer.multiple_cents > 0 and cents % offer.multiple_cents:
        return _render(session, ctx, "not_multiple", multiple=kes(offer.multiple_cents))
    session.go("apply_purpose", amount=cents)
    return _render(session, ctx)


def _apply_purpose(session: _Session, text: str, ctx: Context) -> Step:
    if text not in ("1", "2", "3", "4"):
        return _render(session, ctx, "invalid_option")
    session.go("apply_term", **session.data, purpose=texts.PURPOSES[int(text) - 1])
    return _render(session, ctx)


def _apply_term(session: _Session, text: str, ctx: Context) -> Step:
    offer = ctx.offer
    if not (text.isascii() and text.isdigit()) or len(text) > 3:
        return _render(session, ctx, "digits_only")
    if not offer.min_term <= int(text) <= offer.max_term:
        return _render(session, ctx, "term_range", minimum=offer.min_term, maximum=offer.max_term)
    session.go("apply_confirm", **session.data, term=int(text))
    return _render(session, ctx)


def _apply_confirm(session: _Session, text: str, ctx: Context) -> Step:
    if text != "1":
        return _render(session, ctx, "invalid_option")
    data = session.data
    session.effects.append(ApplyForLoan(data["amount"], data["term"], data["purpose"]))
    return _end(session, "apply_done", reference=ctx.reference)


def _repay_amount(session: _Session, text: str, ctx: Context) -> Step:
    loan = _loan(ctx, session.data["loan"])
    if loan is None or not loan.repayable:
        session.home()
        return _render(session, ctx, "no_balance")
    if text == "1":
        cents = loan.outstanding_cents
    else:
        typed = _shillings(text)
        if typed is None or typed == 0:
            return _render(session, ctx, "digits_only")
        if typed > loan.outstanding_cents:
            return _render(session, ctx, "above_balance", owed=kes(loan.outstanding_cents))
        cents = typed
    session.go("repay_method", loan=session.data["loan"], amount=cents)
    return _render(session, ctx)


def _repay_method(session: _Session, text: str, ctx: Context) -> Step:
    loan = _loan(ctx, session.data["loan"])
    amount = session.data["amount"]
    if loan is None:
        session.home()
        return _render(session, ctx, "no_balance")
    if text == "1":
        session.effects.append(RequestPrompt(loan.loan_id, loan.account_number, amount))
        return _end(session, "repay_stk", amount=kes(amount))
    if text == "2":
        return _end(
            session,
            "repay_paybill",
            paybill=ctx.offer.paybill,
            account=loan.account_number,
            amount=kes(amount),
        )
    return _render(session, ctx, "invalid_option")


def _information(session: _Session, _text: str, ctx: Context) -> Step:
    """A screen that only shows something: 0 and 00 are handled above; anything else re-asks."""
    return _render(session, ctx, "invalid_option")


def _settings(session: _Session, text: str, ctx: Context) -> Step:
    if text == "1":
        session.go("language")
    elif text == "2":
        session.go("pin_current")
    else:
        return _render(session, ctx, "invalid_option")
    return _render(session, ctx)


def _language(session: _Session, text: str, ctx: Context) -> Step:
    if text not in ("1", "2"):
        return _render(session, ctx, "invalid_option")
    language: Language = "en" if text == "1" else "sw"
    session.language = language
    session.effects.append(ChangeLanguage(language))
    session.home()
    return _render(session, ctx, "language_changed")


def _pin_current(session: _Session, text: str, ctx: Context) -> Step:
    if not is_pin_shaped(text):
        return _render(session, ctx, "pin_format")
    if not ctx.verify_pin(text):
        session.effects.append(PinFailed())
        left = MAX_WRONG_PINS - ctx.access.wrong_pins - 1
        if left <= 0:
            return _end(session, "locked")
        return _render(session, ctx, "wrong_pin", left=left)
    if ctx.access.wrong_pins:
        session.effects.append(PinAccepted())
    session.go("pin_new")
    return _render(session, ctx)


_BEFORE_PIN = frozenset({"setup_id", "setup_pin", "confirm_pin", "login"})
_HANDLERS: dict[str, Handler] = {
    "setup_id": _setup_id,
    "setup_pin": _setup_pin,
    "pin_new": _setup_pin,
    "confirm_pin": _confirm_pin,
    "login": _login,
    "main": _main,
    "choose_loan": _choose_loan,
    "apply_amount": _apply_amount,
    "apply_purpose": _apply_purpose,
    "apply_term": _apply_term,
    "apply_confirm": _apply_confirm,
    "repay_amount": _repay_amount,
    "repay_method": _repay_method,
    "loan_status": _information,
    "statement": _information,
    "savings": _information,
    "settings": _settings,
    "language": _language,
    "pin_current": _pin_current,
}
