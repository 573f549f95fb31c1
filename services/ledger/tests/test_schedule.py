"""Schedules match lending.md's Fineract-verified vectors to the cent, and numpy-financial's annuities."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy_financial as npf
import pytest

from hazina_ledger.domain.errors import ScheduleTermsError
from hazina_ledger.domain.rounding import RoundingMode, round_to_int, round_to_multiple
from hazina_ledger.domain.schedule import (
    Frequency,
    InterestMethod,
    RatePeriod,
    ScheduleTerms,
    WeeklyMonthConvention,
    add_months,
    build_schedule,
    effective_rate_per_period,
    equal_instalment_cents,
)

JAN_1 = dt.date(2025, 1, 1)


def terms(
    method: str, rate: str, period: str, frequency: str, n: int, **extra: object
) -> ScheduleTerms:
    return ScheduleTerms(
        InterestMethod(method),
        Decimal(rate),
        RatePeriod(period),
        Frequency(frequency),
        n,
        **extra,  # type: ignore[arg-type]
    )


def rows(
    principal_cents: int, t: ScheduleTerms, start: dt.date = JAN_1
) -> list[tuple[int, int, int]]:
    return [
        (i.principal_cents, i.interest_cents, i.total_cents)
        for i in build_schedule(principal_cents, start, t).instalments
    ]


class TestFlat:
    def test_worked_example_a_20000_six_months_10_percent_flat(self) -> None:
        # lending.md §1.3: 3,333.33 x5 + 3,333.35; interest 2,000.00 each; total 32,000.00.
        schedule = build_schedule(2_000_000, JAN_1, terms("flat", "10", "month", "monthly", 6))
        assert rows(2_000_000, terms("flat", "10", "month", "monthly", 6)) == [
            (333_333, 200_000, 533_333)
        ] * 5 + [(333_335, 200_000, 533_335)]
        assert schedule.interest_cents == 1_200_000
        assert schedule.total_cents == 3_200_000
        assert [i.due_on for i in schedule.instalments] == [
            dt.date(2025, m, 1) for m in range(2, 8)
        ]

    def test_fineract_instalment_multiple_of_one_shilling(self) -> None:
        # lending.md §1.3: principal 3,333.00 (due 5,333.00) x5, then 3,335.00 (due 5,335.00).
        t = terms("flat", "10", "month", "monthly", 6, instalment_multiple_of_cents=100)
        assert rows(2_000_000, t) == [(333_300, 200_000, 533_300)] * 5 + [
            (333_500, 200_000, 533_500)
        ]

    def test_fineract_multiples_case_half_even_keeps_interest_and_shifts_principal(self) -> None:
        # lending.md §1.2: interest 12.50 -> 12 (HALF_EVEN), principal 416.67 -> 417:
        # principal 416.50, instalment 429.
        t = terms("flat", "3", "year", "monthly", 12, instalment_multiple_of_cents=100)
        schedule = rows(500_000, t)
        assert schedule[0] == (41_650, 1_250, 42_900)
        assert schedule[-1] == (500_000 - 11 * 41_650, 1_250, 500_000 - 11 * 41_650 + 1_250)

    def test_half_up_gives_the_other_multiples_answer(self) -> None:
        # lending.md §1.7: under HALF_UP 12.50 becomes 13 and the principal 417.50.
        t = terms(
            "flat",
            "3",
            "year",
            "monthly",
            12,
            instalment_multiple_of_cents=100,
            rounding=RoundingMode.HALF_UP,
        )
        assert rows(500_000, t)[0] == (41_750, 1_250, 43_000)

    def test_weekly_per_month_rate_fineract_reading(self) -> None:
        # lending.md §1.5: 10,000 over 8 weeks at "10 per month" in Fineract: 7 x 1,480.77 + 1,480.76.
        t = terms("flat", "10", "month", "weekly", 8)
        assert rows(1_000_000, t) == [(125_000, 23_077, 148_077)] * 7 + [(125_000, 23_076, 148_076)]
        due = [i.due_on for i in build_schedule(1_000_000, JAN_1, t).instalments]
        assert due[0] == dt.date(2025, 1, 8)
        assert due[-1] == dt.date(2025, 2, 26)

    def test_weekly_per_month_rate_kenyan_four_week_month(self) -> None:
        # lending.md §1.5: the Kenyan figure, 8 x 1,500.00 (principal 1,250 + interest 250).
        t = terms(
            "flat",
            "10",
            "month",
            "weekly",
            8,
            weekly_month_convention=WeeklyMonthConvention.FOUR_WEEKS,
        )
        assert rows(1_000_000, t) == [(125_000, 25_000, 150_000)] * 8

    def test_chamahub_annual_flat_formula(self) -> None:
        # lending.md §1.6: 10,000 at 12 % p.a. for 6 months -> 1,766.67 x5 then 1,766.65.
        assert [r[2] for r in rows(1_000_000, terms("flat", "12", "year", "monthly", 6))] == [
            176_667
        ] * 5 + [176_665]


class TestDecliningEqualInstalments:
    def test_worked_example_b_12000_twelve_months_24_percent(self) -> None:
        # lending.md §1.4, row by row.
        expected = [
            (89_472, 24_000),
            (91_261, 22_211),
            (93_087, 20_385),
            (94_948, 18_524),
            (96_847, 16_625),
            (98_784, 14_688),
            (100_760, 12_712),
            (102_775, 10_697),
            (104_831, 8_641),
            (106_927, 6_545),
            (109_066, 4_406),
            (111_242, 2_225),
        ]
        t = terms("declining_equal_instalments", "24", "year", "monthly", 12)
        schedule = build_schedule(1_200_000, JAN_1, t)
        assert [(i.principal_cents, i.interest_cents) for i in schedule.instalments] == expected
        assert schedule.instalments[-1].total_cents == 113_467
        assert schedule.interest_cents == 161_659

    @pytest.mark.parametrize(
        ("principal_cents", "rate", "period", "n", "multiple", "expected_cents"),
        [
            (1_200_000, "24", "year", 12, 1, 113_472),  # pmt(0.02,12,-12000)=1134.715159
            (500_000, "12", "year", 18, 100, 30_500),  # pmt(0.01,18,-5000)=304.910239 -> 305
            (500_000, "12", "year", 15, 100, 36_100),  # pmt(0.01,15,-5000)=360.618901 -> 361
            (10_000, "7", "year", 6, 1, 1_701),  # pmt(0.07/12,6,-100)=17.008594 -> 17.01
        ],
    )
    def test_instalment_matches_numpy_financial_pmt(
        self,
        principal_cents: int,
        rate: str,
        period: str,
        n: int,
        multiple: int,
        expected_cents: int,
    ) -> None:
        t = terms(
            "declining_equal_instalments",
            rate,
            period,
            "monthly",
            n,
            instalment_multiple_of_cents=multiple,
        )
        assert equal_instalment_cents(principal_cents, t) == expected_cents
        oracle = -npf.pmt(float(Decimal(rate) / 1200), n, principal_cents / 100)
        assert abs(oracle * 100 - expected_cents) <= max(multiple / 2, 0.5)

    def test_rows_within_a_cent_of_numpy_financial_ipmt_ppmt(self) -> None:
        # lending.md §7.1: the rounded schedule stays within 0.01 per row of ipmt/ppmt.
        t = terms("declining_equal_instalments", "24", "year", "monthly", 12)
        schedule = build_schedule(1_200_000, JAN_1, t)
        for instalment in schedule.instalments[:-1]:
            ipmt = -npf.ipmt(0.02, instalment.number, 12, 12_000)
            ppmt = -npf.ppmt(0.02, instalment.number, 12, 12_000)
            assert abs(instalment.interest_cents / 100 - ipmt) <= 0.01
            assert abs(instalment.principal_cents / 100 - ppmt) <= 0.01
        assert abs(schedule.interest_cents / 100 - 1_616.5819) <= 0.01

    def test_rounded_up_instalment_repays_the_loan_with_principal_summing_exactly(self) -> None:
        t = terms(
            "declining_equal_instalments",
            "12",
            "year",
            "monthly",
            18,
            instalment_multiple_of_cents=100,
        )
        schedule = build_schedule(500_000, JAN_1, t)
        assert sum(i.principal_cents for i in schedule.instalments) == 500_000
        assert all(i.total_cents == 30_500 for i in schedule.instalments[:-1])

    def test_zero_rate_splits_principal_only(self) -> None:
        t = terms("declining_equal_instalments", "0", "month", "monthly", 3)
        assert rows(100_000, t) == [(33_333, 0, 33_333), (33_333, 0, 33_333), (33_334, 0, 33_334)]


class TestDecliningEqualPrincipal:
    def test_equal_principal_version_of_example_b(self) -> None:
        # lending.md §1.4: principal 1,000 monthly; interest 240, 220, ... 20; total 1,560.
        t = terms("declining_equal_principal", "24", "year", "monthly", 12)
        schedule = build_schedule(1_200_000, JAN_1, t)
        assert [i.principal_cents for i in schedule.instalments] == [100_000] * 12
        assert [i.interest_cents for i in schedule.instalments] == [
            24_000 - 2_000 * k for k in range(12)
        ]
        assert schedule.interest_cents == 156_000

    def test_multiples_are_not_applied_to_equal_principal(self) -> None:
        t = terms(
            "declining_equal_principal",
            "12",
            "year",
            "monthly",
            18,
            instalment_multiple_of_cents=100,
        )
        assert rows(500_000, t)[0][0] == 27_778  # RS04 keeps 277.78


class TestDisclosure:
    def test_effective_rate_of_flat_10_percent_matches_numpy_financial_rate(self) -> None:
        # lending.md §1.1: npf.rate(6, 5333.33, -20000, 0) = 0.153408.
        schedule = build_schedule(2_000_000, JAN_1, terms("flat", "10", "month", "monthly", 6))
        assert abs(effective_rate_per_period(schedule) - Decimal("0.153408")) < Decimal("0.00001")
        assert abs(float(npf.rate(6, 5333.33, -20000, 0)) - 0.153408) < 1e-6

    def test_fees_are_spread_over_instalments_with_the_residue_last(self) -> None:
        from hazina_ledger.domain.schedule import FeeKind, LoanFee

        t = terms(
            "flat",
            "10",
            "month",
            "monthly",
            3,
            fees=(
                LoanFee("processing", FeeKind.PERCENT, Decimal("3")),
                LoanFee("insurance", FeeKind.FLAT, Decimal("100")),
            ),
        )
        fees = [i.fee_cents for i in build_schedule(1_000_000, JAN_1, t).instalments]
        assert fees == [13_333, 13_333, 13_334]  # 3 % of 10,000 + 100 = 400.00


class TestRulesAndLimits:
    def test_month_ends_are_clamped_without_drift(self) -> None:
        assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
        assert add_months(dt.date(2025, 1, 31), 2) == dt.date(2025, 3, 31)
        assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
        assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)

    @pytest.mark.parametrize(
        ("mode", "value", "expected"),
        [
            (RoundingMode.HALF_EVEN, "12.5", 12),
            (RoundingMode.HALF_EVEN, "13.5", 14),
            (RoundingMode.HALF_UP, "12.5", 13),
            (RoundingMode.HALF_DOWN, "12.5", 12),
            (RoundingMode.UP, "12.1", 13),
            (RoundingMode.DOWN, "12.9", 12),
            (RoundingMode.CEILING, "-12.5", -12),
            (RoundingMode.FLOOR, "-12.5", -13),
            (RoundingMode.HALF_UP, "-12.5", -13),
        ],
    )
    def test_rounding_modes(self, mode: RoundingMode, value: str, expected: int) -> None:
        from fractions import Fraction

        assert round_to_int(Fraction(value), mode) == expected

    def test_round_to_multiple(self) -> None:
        assert round_to_multiple(30_491, 100, RoundingMode.HALF_EVEN) == 30_500
        assert round_to_multiple(1_250, 100, RoundingMode.HALF_EVEN) == 1_200

    @pytest.mark.parametrize(
        "bad",
        [
            {"n": 0},
            {"n": 521},
            {"rate": "-1"},
            {"rate": "1001"},
            {"multiple": 0},
        ],
    )
    def test_impossible_terms_are_refused(self, bad: dict[str, object]) -> None:
        with pytest.raises(ScheduleTermsError):
            terms(
                "flat",
                str(bad.get("rate", "10")),
                "month",
                "monthly",
                int(bad.get("n", 6)),  # type: ignore[call-overload]
                instalment_multiple_of_cents=int(bad.get("multiple", 1)),  # type: ignore[call-overload]
            )

    def test_zero_principal_is_refused(self) -> None:
        with pytest.raises(ScheduleTermsError):
            build_schedule(0, JAN_1, terms("flat", "10", "month", "monthly", 6))
