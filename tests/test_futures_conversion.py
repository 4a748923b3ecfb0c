"""Conversion factors against the exchanges' published examples and formulas."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolios.futures import cme_factor, conversion_factor, eurex_factor, jpx_factor
from tests import strategies as ts

#: CME Treasury conversion factors (first day of the delivery month, maturity, coupon %,
#: factor) as reproduced by MathWorks' ``convfactor`` documentation example
#: (mathworks.com/help/fininst/convfactor.html), which implements CME's formula from
#: "Calculating U.S. Treasury Futures Conversion Factors" (CME Group).
CME_EXAMPLES = [
    (dt.date(2002, 12, 1), dt.date(2012, 11, 15), 4.0, 0.8539),
    (dt.date(2003, 3, 1), dt.date(2012, 8, 15), 4.375, 0.8858),
    (dt.date(2003, 6, 1), dt.date(2012, 2, 15), 4.875, 0.9259),
    (dt.date(2003, 9, 1), dt.date(2011, 2, 15), 5.0, 0.9418),
    (dt.date(2003, 12, 1), dt.date(2011, 8, 15), 5.0, 0.9403),
    (dt.date(2003, 9, 1), dt.date(2010, 8, 15), 5.75, 0.9862),
    (dt.date(2002, 12, 1), dt.date(2009, 8, 15), 6.0, 1.0),
    (dt.date(2003, 6, 1), dt.date(2010, 2, 15), 6.5, 1.0266),
]


@pytest.mark.parametrize(("delivery", "maturity", "coupon", "factor"), CME_EXAMPLES)
def test_cme_factors_match_published_values(delivery: dt.date, maturity: dt.date,
                                            coupon: float, factor: float) -> None:
    assert cme_factor("TY", coupon, maturity, delivery) == factor


def test_eurex_factor_of_a_bund_into_fgbl() -> None:
    # Eurex's factor of DE0001102408 (0 %, 15 Aug 2026) for FGBL Sep 2017 (delivery 11 Sep
    # 2017): 0.594455, "from Eurex website", quoted in the NMOF R package's bundFuture example.
    assert eurex_factor(0.0, dt.date(2026, 8, 15), dt.date(2017, 9, 11)) == 0.594455
    # MathWorks' convfactor German-bond example: 4 % of 4 Jan 2018 on 10 Mar 2009 -> 0.8659.
    assert round(eurex_factor(4.0, dt.date(2018, 1, 4), dt.date(2009, 3, 10)), 4) == 0.8659


def test_a_six_percent_bond_on_a_coupon_date_has_factor_one() -> None:
    # Every exchange's factor is the price per 1 at a 6 % yield: exactly 1 for a 6 % coupon
    # a whole number of periods from delivery.
    assert jpx_factor(6.0, dt.date(2035, 3, 20), dt.date(2026, 3, 20)) == 1.0
    assert eurex_factor(6.0, dt.date(2035, 3, 10), dt.date(2026, 3, 10)) == 1.0
    assert cme_factor("TY", 6.0, dt.date(2033, 3, 15), dt.date(2026, 3, 31)) == 1.0


@settings(max_examples=ts.examples(200), deadline=None)
@given(st.sampled_from(("JGB10", "TU", "FV", "TY", "US", "FGBL")), st.floats(0.0, 12.0),
       st.integers(400, 30 * 365), st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)))
def test_factors_fall_with_maturity_below_six_percent(contract: str, coupon: float, days: int,
                                                       delivery: dt.date) -> None:
    """A bond below (above) the 6 % notional coupon has a factor below (above) 1."""
    maturity = delivery + dt.timedelta(days=days)
    f = conversion_factor(contract, coupon, maturity, delivery)
    assert 0.0 < f < 3.0
    if coupon < 5.9:
        assert f <= 1.0
    if coupon > 6.1:
        assert f >= 1.0
