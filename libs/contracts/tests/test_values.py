"""The value types that cross the money path: read once at the edge, trusted further in.

Each one's constructor is its only parser; these tests pin what each accepts (exactly what the
services accepted before the types existed: the old rules are kept here as oracles), that
reading is idempotent, and that on the wire (JSON, JSON Schema) they are plain strings and ints.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import string
import uuid

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from hazina_contracts.events.payments import PaymentReceived
from hazina_contracts.events.ussd import RepaymentPromptRequested
from hazina_contracts.money import MAX_CENTS, AmountCents, MoneyParseError, PositiveKesCents
from hazina_contracts.phones import Msisdn, MsisdnError
from hazina_contracts.receipts import MpesaReceipt, ReceiptError, ReceiptNumber

# The rules as the services wrote them before (ledger domain/receipt.py, the gateway's Daraja
# callback reader, origination domain/phone.py): the types must accept exactly these.
_OLD_LEDGER_RECEIPT = re.compile(r"^[A-Z0-9][A-Z0-9._:/-]{0,63}$")
_OLD_GATEWAY_RECEIPT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def old_ledger_receipt(text: str) -> str | None:
    normal = text.strip().upper()
    return normal if _OLD_LEDGER_RECEIPT.match(normal) else None


def old_gateway_receipt(text: str) -> str | None:
    upper = text.strip().upper()
    if not 6 <= len(upper) <= 20 or not set(upper) <= _OLD_GATEWAY_RECEIPT_CHARS:
        return None
    return upper


def old_phone(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, "KE")
    except phonenumbers.NumberParseException:
        return None
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != "KE"
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    if not (e164.startswith("2547") or e164.startswith("2541")) or len(e164) != 12:
        return None
    return e164


def _read(kind: type[str], text: str) -> str | None:
    try:
        return kind(text)
    except ValueError:
        return None


receipt_text = st.text(
    alphabet=string.ascii_letters + string.digits + "._:/- \t\n\u00df\u017f\u0131\u20ac",
    max_size=70,
)


# Receipt numbers


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("TAF2K9LMNP", "TAF2K9LMNP"),
        ("  taf2k9lmnp\n", "TAF2K9LMNP"),
        ("cash-0042", "CASH-0042"),
        ("NCBA/2025:17.a_b", "NCBA/2025:17.A_B"),
        ("R", "R"),
        ("A" * 64, "A" * 64),
    ],
)
def test_a_receipt_number_is_trimmed_and_upper_cased(sent: str, read: str) -> None:
    assert ReceiptNumber(sent) == read
    assert type(ReceiptNumber(sent)) is ReceiptNumber


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("-AB", "must be 1-64 letters"),
        ("AB C", "must be 1-64 letters"),
        ("AB\x00C", "must be 1-64 letters"),
        ("A" * 65, "must be 1-64 letters"),
        ("A" * 1000, "too long"),
        (12345, "is text"),
        (None, "is text"),
    ],
)
def test_anything_else_is_not_a_receipt_number(sent: object, reason: str) -> None:
    with pytest.raises(ReceiptError, match=reason):
        ReceiptNumber(sent)


@pytest.mark.parametrize(
    "sent", ["TAF2K", "TAF2K9LMNP-1", "TAF2K9LMNP1234567890X", "TAF 2K9LMNP", "TAF2K9LMN\u00e9"]
)
def test_an_mpesa_receipt_is_six_to_twenty_letters_and_digits(sent: str) -> None:
    with pytest.raises(ReceiptError, match="an M-Pesa receipt"):
        MpesaReceipt(sent)


def test_an_mpesa_receipt_is_a_receipt_number_and_stays_one() -> None:
    receipt = MpesaReceipt(" taf2k9lmnp ")
    assert isinstance(receipt, ReceiptNumber)
    assert ReceiptNumber(receipt) is receipt
    assert MpesaReceipt(receipt) is receipt
    # A receipt number that happens to have the M-Pesa shape is read again, once, as one.
    assert type(MpesaReceipt(ReceiptNumber("TAF2K9LMNP"))) is MpesaReceipt
    with pytest.raises(ReceiptError):
        MpesaReceipt(ReceiptNumber("CASH-1"))


@given(receipt_text)
@example("\u017fabcdef")  # a long s upper-cases to ASCII S, as str.upper() always did
@example("abcdeß")  # upper-cases to SS: 7 characters
def test_receipt_numbers_accept_exactly_what_the_ledger_accepted(text: str) -> None:
    assert _read(ReceiptNumber, text) == old_ledger_receipt(text)


@given(receipt_text)
@example("\u017fabcdef")
def test_mpesa_receipts_accept_exactly_what_the_gateway_accepted(text: str) -> None:
    assert _read(MpesaReceipt, text) == old_gateway_receipt(text)


@given(receipt_text)
def test_reading_a_receipt_again_changes_nothing(text: str) -> None:
    for kind in (ReceiptNumber, MpesaReceipt):
        once = _read(kind, text)
        if once is not None:
            assert kind(str(once)) == once
            assert kind(once) is once


# Phones


@pytest.mark.parametrize(
    "sent",
    [
        "254712345678",
        "+254712345678",
        "0712345678",
        "712345678",
        "0712 345 678",
        "0712-345-678",
        "+254 712 345678",
        " 254712345678\n",
        "+254 (0) 712 345 678",  # the odd forms go through phonenumbers itself
        "07\uff112345678",  # a full-width digit
        "tel:+254712345678",
    ],
)
def test_every_form_of_one_mobile_is_the_same_msisdn(sent: str) -> None:
    assert Msisdn(sent) == "254712345678"
    assert type(Msisdn(sent)) is Msisdn


@pytest.mark.parametrize(
    ("sent", "read"), [("0110123456", "254110123456"), ("254112345678", "254112345678")]
)
def test_the_01_mobile_range_is_2541(sent: str, read: str) -> None:
    assert Msisdn(sent) == read


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("", "is required"),
        ("   ", "is required"),
        ("abc", "'abc' is not a phone number"),
        ("0201234567", "not a valid Kenyan mobile number"),  # a Nairobi landline
        ("12345", "not a valid Kenyan mobile number"),
        ("07123", "not a valid Kenyan mobile number"),
        ("+447911123456", "not a valid Kenyan mobile number"),
        ("2547123456789", "not a valid Kenyan mobile number"),
        ("0199999999", "not a valid Kenyan mobile number"),  # outside the allocated 01 range
        ("0" * 300, "too long"),
        (254712345678, "must be text"),
    ],
)
def test_anything_else_is_not_an_msisdn(sent: object, reason: str) -> None:
    with pytest.raises(MsisdnError, match=re.escape(reason)):
        Msisdn(sent)


def test_a_refusal_names_the_field_when_asked() -> None:
    with pytest.raises(MsisdnError, match=r"^nextOfKinPhone '12345' is not a valid Kenyan"):
        Msisdn.parse("12345", field="nextOfKinPhone")
    with pytest.raises(MsisdnError, match=r"^phone is required"):
        Msisdn.parse(" ", field="phone")


national = st.from_regex(r"[0-9]{9}", fullmatch=True) | st.from_regex(
    r"[17][0-9]{8}", fullmatch=True
)
prefix = st.sampled_from(["", "0", "254", "+254", "+2540", "00", "000254", "1", "2540", "+"])
separator = st.sampled_from(["", " ", "-", "  ", ".", "(", ")"])


@st.composite
def phone_text(draw: st.DrawFn) -> str:
    digits = draw(prefix) + draw(national)
    out = []
    for ch in digits:
        out.append(ch)
        if draw(st.integers(0, 4)) == 0:
            out.append(draw(separator))
    return draw(st.sampled_from(["", " "])) + "".join(out) + draw(st.sampled_from(["", " "]))


@settings(max_examples=400)
@given(phone_text())
@example("0712345678")
@example("0199999999")
@example("+2540712345678")
def test_msisdns_accept_exactly_what_origination_accepted(text: str) -> None:
    assert _read(Msisdn, text) == old_phone(text)


@settings(max_examples=200)
@given(phone_text())
def test_reading_a_phone_again_changes_nothing(text: str) -> None:
    once = _read(Msisdn, text)
    if once is not None:
        assert re.fullmatch(r"254[17][0-9]{8}", once)
        assert Msisdn(str(once)) == once
        assert Msisdn(once) is once


@given(st.sampled_from(["7", "1"]), st.from_regex(r"[0-9]{8}", fullmatch=True))
def test_all_forms_of_one_number_agree(first: str, rest: str) -> None:
    number = first + rest
    forms = [number, "0" + number, "254" + number, "+254" + number, f"0{number[:3]} {number[3:]}"]
    read = {_read(Msisdn, form) for form in forms}
    assert len(read) == 1
    assert read == {old_phone("0" + number)}


# Amounts


def test_an_amount_in_cents_is_a_positive_int_within_the_limit() -> None:
    assert AmountCents(1) == 1
    assert AmountCents(MAX_CENTS) == MAX_CENTS
    amount = AmountCents(500)
    assert AmountCents(amount) is amount
    assert type(amount + 1) is int  # a sum or a difference is just a number
    assert type(amount - amount) is int


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (0, "greater than zero"),
        (-1, "greater than zero"),
        (MAX_CENTS + 1, "too large"),
        (True, "whole number"),
        (1.0, "whole number"),
        ("100", "whole number"),
        (None, "whole number"),
    ],
)
def test_anything_else_is_not_an_amount(sent: object, reason: str) -> None:
    with pytest.raises(MoneyParseError, match=reason):
        AmountCents(sent)


@pytest.mark.parametrize(("kes", "cents"), [("1200.50", 120050), (1, 100), ("0.01", 1)])
def test_an_amount_people_type_is_read_as_kes(kes: object, cents: int) -> None:
    assert AmountCents.from_kes(kes) == cents
    assert type(AmountCents.from_kes(kes)) is AmountCents


@pytest.mark.parametrize("kes", ["0", "0.00", "-5", "1e3", "1,000"])
def test_a_kes_amount_that_is_not_positive_money_is_refused(kes: str) -> None:
    with pytest.raises(MoneyParseError):
        AmountCents.from_kes(kes)


@given(st.integers(min_value=1, max_value=MAX_CENTS))
def test_reading_an_amount_again_changes_nothing(cents: int) -> None:
    amount = AmountCents(cents)
    assert AmountCents(int(amount)) == amount == cents
    assert AmountCents(amount) is amount


# On the wire


class Typed(BaseModel):
    receipt: ReceiptNumber
    mpesa: MpesaReceipt
    phone: Msisdn
    amount_cents: AmountCents


class Plain(BaseModel):
    receipt: str
    mpesa: str
    phone: str
    amount_cents: int = Field(gt=0)


def test_the_json_schema_is_that_of_plain_strings_and_a_positive_int() -> None:
    typed, plain = Typed.model_json_schema(), Plain.model_json_schema()
    assert typed["properties"] == plain["properties"]


def test_a_model_reads_each_field_once_and_writes_the_same_json() -> None:
    model = Typed.model_validate_json(
        '{"receipt": " cash-1 ", "mpesa": "taf2k9lmnp", "phone": "0712345678",'
        ' "amount_cents": 5000}'
    )
    assert (
        type(model.receipt),
        type(model.mpesa),
        type(model.phone),
        type(model.amount_cents),
    ) == (
        ReceiptNumber,
        MpesaReceipt,
        Msisdn,
        AmountCents,
    )
    wire = model.model_dump_json()
    assert json.loads(wire) == {
        "receipt": "CASH-1",
        "mpesa": "TAF2K9LMNP",
        "phone": "254712345678",
        "amount_cents": 5000,
    }
    assert Typed.model_validate_json(wire) == model
    # The stdlib encoder (the event store's) writes them as the plain values too.
    assert json.dumps([model.receipt, model.phone, model.amount_cents]) == (
        '["CASH-1", "254712345678", 5000]'
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("receipt", "A B"), ("mpesa", "CASH-1"), ("phone", "0201234567"), ("amount_cents", 0)],
)
def test_a_model_refuses_what_the_type_refuses(field: str, value: object) -> None:
    good = {"receipt": "R1", "mpesa": "TAF2K9LMNP", "phone": "254712345678", "amount_cents": 1}
    with pytest.raises(ValidationError) as raised:
        Typed.model_validate({**good, field: value})
    assert [e["loc"] for e in raised.value.errors()] == [(field,)]


def test_the_kes_request_field_gives_an_amount_in_cents() -> None:
    class Request(BaseModel):
        amount: PositiveKesCents

    read = Request.model_validate({"amount": "1200.50"}).amount
    assert (read, type(read)) == (120050, AmountCents)
    with pytest.raises(ValidationError, match="greater than zero"):
        Request.model_validate({"amount": "0"})


# In the contract events that carry money in and out


def test_the_money_path_events_read_their_values_once_as_they_are_read() -> None:
    at = dt.datetime(2025, 2, 1, 9, tzinfo=dt.UTC)
    paid = PaymentReceived.model_validate(
        {
            "occurred_at": at.isoformat(),
            "receipt": " taf2k9lmnp ",
            "amount_cents": 500_000,
            "account_reference": "LN1",
            "target": "unallocated",
            "paid_at": at.isoformat(),
            "channel": "c2b",
        }
    )
    assert (paid.receipt, type(paid.receipt), type(paid.amount_cents)) == (
        "TAF2K9LMNP",
        ReceiptNumber,
        AmountCents,
    )
    assert json.loads(paid.model_dump_json())["receipt"] == "TAF2K9LMNP"
    prompt = RepaymentPromptRequested(
        occurred_at=at,
        prompt_id=uuid.uuid4(),
        phone="+254 712 345 678",  # as a phone gateway may hand it on
        amount_cents=100_00,
        account_reference="LN1",
    )
    assert (prompt.phone, type(prompt.phone)) == ("254712345678", Msisdn)
    with pytest.raises(ValidationError):
        RepaymentPromptRequested(
            occurred_at=at,
            prompt_id=uuid.uuid4(),
            phone="0201234567",
            amount_cents=100_00,
            account_reference="LN1",
        )
