"""Bad input never becomes an event: text, amounts and dates are checked at the edge, and a search
finds what was typed, wildcards included."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest

from hazina_servicekit.inputs import unchecked_inputs

BAD_AMOUNTS = ["1e999999", "1e400000", "1e999997", "1,000", "1e5", "12.345", " 12", "0x10", "+5"]
SEARCHED_LISTS = [
    "/api/groups",
    "/api/clients",
    "/api/loan-products",
    "/api/loans",
    "/api/loan-officers",
]


def last_event(world: Any) -> int:
    """The position of the last stored event: unchanged means nothing was written."""
    return int(world.container.app.recorder.max_notification_id() or 0)


def test_every_route_takes_only_checked_text_and_dates(world: Any) -> None:
    assert unchecked_inputs(world.http.app) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"name": "Umoja\\u0000 Women"}', "name: must not contain control characters"),
        ('{"name": "Umoja", "region": "Nairobi\\u001b[2J"}', "region: must not contain control"),
        ('{"name": "Umoja", "meetingDay": "Wednesday\\u0000"}', "meetingDay: must not contain"),
        # a lone surrogate cannot be stored as UTF-8; the JSON reader already refuses it
        ('{"name": "Umoja\\ud800"}', "name: Input should be a valid string"),
    ],
)
def test_a_control_character_in_a_group_is_a_400_naming_the_field_and_stores_nothing(
    world: Any, officer: Any, body: str, expected: str
) -> None:
    before = last_event(world)
    response = world.http.post(
        "/api/groups",
        content=body.encode(),
        headers={**officer.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith(expected), message
    assert last_event(world) == before
    listed = world.http.get("/api/groups?search=Umoja", headers=officer.headers).json()
    assert listed == []


def test_a_nul_in_an_onboarding_form_is_a_400_naming_the_field(world: Any, officer: Any) -> None:
    group = world.group(officer)
    before = last_event(world)
    response = world.http.post(
        "/api/clients/onboard",
        data={
            "name": "Wanjiku\u0000 Kamau",
            "nationalId": world.national_id(),
            "phone": world.phone(),
            "residence": "owned",
            "businessType": "retail",
            "businessLocation": "Githurai",
            "nextOfKinName": "Njeri",
            "nextOfKinPhone": world.phone(),
            "nextOfKinRelationship": "sister",
            "groupId": group["_id"],
        },
        files={"photo": ("face.jpg", io.BytesIO(b"\xff\xd8\xff\xe0" + b"0" * 64), "image/jpeg")},
        headers=officer.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("name: must not contain control characters")
    assert last_event(world) == before


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_amounts_that_are_not_plain_decimals_are_refused(
    world: Any, officer: Any, amount: str
) -> None:
    product = world.product()
    group = world.group(officer)
    client = world.onboard(officer, group["_id"])
    before = last_event(world)
    response = world.initiate(officer, client, product, amount=amount)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("amount: ")
    assert last_event(world) == before


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("interestRate", "1e999999", "not a plain decimal"),
        ("interestRate", "NaN", "finite"),
        ("minSavingsRatio", "1,5", "not a plain decimal"),
        ("minAmount", "1e400000", "exponent"),
        ("maxAmount", "50,000", "thousands separators"),
        ("name", "Biashara\u0000", "control characters"),
    ],
)
def test_a_product_with_an_unreadable_number_or_text_is_a_400(
    world: Any, field: str, value: str, fragment: str
) -> None:
    before = last_event(world)
    body = {
        "name": f"Biashara {uuid.uuid4().hex[:6]}",
        "type": "business",
        "interestMethod": "flat",
        "interestRate": "10",
        "interestRatePeriod": "month",
        "repaymentFrequency": "monthly",
        "minAmount": 1000,
        "maxAmount": "50000.00",
        "minTerm": 1,
        "maxTerm": 12,
        field: value,
    }
    response = world.http.post("/api/loan-products", json=body, headers=world.super_admin.headers)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith(f"{field}: ") and fragment in message, message
    assert last_event(world) == before


@pytest.mark.parametrize("path", SEARCHED_LISTS)
def test_a_nul_in_search_is_a_400_on_every_list(world: Any, path: str) -> None:
    response = world.http.get(f"{path}?search=%00x", headers=world.super_admin.headers)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("search: must not contain control characters")


def _names(world: Any, path: str, term: str, key: str) -> list[str]:
    response = world.http.get(path, params={"search": term}, headers=world.super_admin.headers)
    assert response.status_code == 200, response.text
    return [row[key] for row in response.json()]


def test_search_wildcards_match_only_the_literal_characters(world: Any, officer: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    world.group(officer, name=f"Umoja 100% {tag}")
    world.group(officer, name=f"Umoja_Vijana {tag}")
    plain = world.group(officer, name=f"Umoja Wazee {tag}")
    world.product(name=f"Biashara 5% {tag}")
    world.product(name=f"Biashara Plain {tag}")
    client = world.onboard(officer, plain["_id"], name=f"Achieng_{tag}")
    world.onboard(officer, plain["_id"], name=f"Achieng {tag}")
    world.announce(world.staff("loan_officer"), username=f"lo_{tag}", name="Juma Said")
    world.announce(world.staff("loan_officer"), username=f"lo{tag}", name="Juma Hamisi")

    groups = _names(world, "/api/groups", "%", "name")
    assert f"Umoja 100% {tag}" in groups and all("%" in name for name in groups)
    groups = _names(world, "/api/groups", "_", "name")
    assert f"Umoja_Vijana {tag}" in groups and all("_" in name for name in groups)
    assert _names(world, "/api/groups", f"% {tag}", "name") == [f"Umoja 100% {tag}"]
    products = _names(world, "/api/loan-products", "%", "name")
    assert f"Biashara 5% {tag}" in products and all("%" in name for name in products)
    clients = _names(world, "/api/clients", f"_{tag}", "name")
    assert clients == [client["name"]]
    officers = _names(world, "/api/loan-officers", "_", "username")
    assert f"lo_{tag}" in officers and f"lo{tag}" not in officers
    assert all("_" in name for name in officers)


def test_a_list_date_must_be_iso_text(world: Any) -> None:
    for bad in ("0", "1700000000", "0713-01-01", "2025-02-30"):
        response = world.http.get(
            "/api/loans", params={"startDate": bad}, headers=world.super_admin.headers
        )
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["message"].startswith("startDate: ")
    ok = world.http.get("/api/loans?startDate=2025-01-01", headers=world.super_admin.headers)
    assert ok.status_code == 200


def test_an_imported_cell_with_a_control_character_imports_nothing(world: Any) -> None:
    group = f"Legacy {uuid.uuid4().hex[:6]}"
    rows = [
        "group_name,client_name,national_id,phone,loan_amount,loan_outcome,loan_disbursed_on",
        f'{group},Mary\u0007 Akinyi,{world.national_id()},0712000001,"15,000",repaid,2024-01-10',
        f'{group},John Otieno,{world.national_id()},0712000002,"20,000.50",repaid,2024-01-10',
        f"{group},Grace Wanjiru,{world.national_id()},0712000003,1e5,repaid,0713-01-10",
    ]
    before = last_event(world)
    response = world.http.post(
        "/api/origination/import",
        files={"file": ("legacy.csv", io.BytesIO("\n".join(rows).encode()), "text/csv")},
        headers=world.super_admin.headers,
    )
    assert response.status_code == 400, response.text
    errors = {e["row"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {2, 4}  # row 3's grouped thousands are read as a spreadsheet shows them
    assert "client_name: must not contain control characters" in errors[2]
    assert "loan_amount" in errors[4] and "exponent" in errors[4]
    assert "between 1900 and 2200" in errors[4]
    assert last_event(world) == before
