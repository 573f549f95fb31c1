"""Logs never carry a phone number, national id, password or token in clear."""

from __future__ import annotations

from hazina_servicekit.logging import mask_personal_data


def test_masks_personal_data_by_key_and_phone_numbers_anywhere() -> None:
    out = mask_personal_data(
        None,
        "info",
        {
            "event": "client_onboarded for 0712345678",
            "phone": "254712345678",
            "nationalId": "34038490",
            "password": "Secret-1",
            "refreshToken": "abc",
            "Authorization": "Bearer x.y.z",
            "nested": {"msisdn": "+254 722 000 111", "amount_cents": 500},
            "user_id": "u-1",
        },
    )
    assert out["event"] == "client_onboarded for 071****678"
    assert out["phone"] == "254****678"
    assert out["nationalId"] == "****90"
    assert out["password"] == out["refreshToken"] == out["Authorization"] == "***"
    assert out["nested"] == {"msisdn": "254****111", "amount_cents": 500}
    assert out["user_id"] == "u-1"
