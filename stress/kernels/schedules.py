"""Schedule and cashflow kernels: calendar arithmetic on day numbers, day counts, CSR fill.

Dates are int64 days since 1970-01-01. Calendar conversions use H. Hinnant's integer
civil-date algorithms, so a million bonds' schedules are built in one pass with no temporaries.
Day-count codes: 0 ACT/ACT-ICMA, 1 ACT/365F, 2 ACT/360, 3 30/360 (US), 4 30E/360.
"""

from __future__ import annotations

from numba import njit, prange


@njit(cache=True)
def days_from_civil(y, m, d):
    y = y - (1 if m <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True)
def civil_from_days(days):
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if m <= 2 else 0), m, d


@njit(cache=True)
def days_in_month(y, m):
    if m == 2:
        leap = (y % 4 == 0) and (y % 100 != 0 or y % 400 == 0)
        return 29 if leap else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


@njit(cache=True)
def roll_back(mat_months, mat_dom, eom, k, step):
    """Coupon date k periods of ``step`` months before maturity (QuantLib: day clamped to
    the month's end; every date a month end when the maturity is one)."""
    months = mat_months - k * step
    y = months // 12
    m = months - y * 12 + 1
    dim = days_in_month(y, m)
    d = dim if eom else min(mat_dom, dim)
    return days_from_civil(y, m, d)


@njit(cache=True)
def _thirty_360(d1, d2, us):
    y1, m1, dd1 = civil_from_days(d1)
    y2, m2, dd2 = civil_from_days(d2)
    if us:
        feb1 = m1 == 2 and dd1 == days_in_month(y1, 2)
        feb2 = m2 == 2 and dd2 == days_in_month(y2, 2)
        if feb1:
            if feb2:
                dd2 = 30
            dd1 = 30
        if dd2 == 31 and dd1 >= 30:
            dd2 = 30
        if dd1 == 31:
            dd1 = 30
    else:
        dd1 = min(dd1, 30)
        dd2 = min(dd2, 30)
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (dd2 - dd1)


@njit(cache=True)
def year_fraction(code, d1, d2, ref_start, ref_end, frequency):
    """QuantLib's year fraction from d1 to d2; [ref_start, ref_end] is the regular coupon
    period (ACT/ACT-ICMA only; QuantLib takes the period as months/12)."""
    if code == 0:
        return ((12 // frequency) / 12.0) * (d2 - d1) / (ref_end - ref_start)
    if code == 1:
        return (d2 - d1) / 365.0
    if code == 2:
        return (d2 - d1) / 360.0
    return _thirty_360(d1, d2, code == 3) / 360.0


@njit(cache=True)
def _count_one(maturity, frequency, valuation, v_months):
    y, m, d = civil_from_days(maturity)
    months = y * 12 + m - 1
    step = 12 // frequency
    eom = d == days_in_month(y, m)
    # Coupon k lies in a month >= the valuation month for k <= k0 and earlier after it.
    k0 = (months - v_months) // step
    return k0 + (1 if roll_back(months, d, eom, k0, step) > valuation else 0)


@njit(cache=True, parallel=True)
def count_live(maturity, frequency, valuation, out_n):
    """Number of coupon dates strictly after ``valuation`` for each bond."""
    vy, vm, _ = civil_from_days(valuation)
    for i in prange(len(maturity)):
        out_n[i] = _count_one(maturity[i], frequency[i], valuation, vy * 12 + vm - 1)


@njit(cache=True)
def count_live_serial(maturity, frequency, valuation, out_n):
    """``count_live`` without threads, for small books (thread start-up costs more)."""
    vy, vm, _ = civil_from_days(valuation)
    for i in range(len(maturity)):
        out_n[i] = _count_one(maturity[i], frequency[i], valuation, vy * 12 + vm - 1)


@njit(cache=True)
def _fill_one(i, args):
    (
        maturity,
        coupon,
        frequency,
        day_count,
        valuation,
        offsets,
        out_pay,
        out_time,
        out_amount,
        out_yield_time,
        out_accrued,
        out_period,
    ) = args
    y, m, d = civil_from_days(maturity[i])
    months = y * 12 + m - 1
    f = frequency[i]
    step = 12 // f
    eom = d == days_in_month(y, m)
    code = day_count[i]
    lo = offsets[i]
    n = offsets[i + 1] - lo
    start = roll_back(months, d, eom, n, step)
    first_end = roll_back(months, d, eom, n - 1, step)
    accrued_frac = year_fraction(code, start, valuation, start, first_end, f)
    out_accrued[i] = coupon[i] * accrued_frac
    out_period[i, 0] = start
    out_period[i, 1] = first_end
    acc = -accrued_frac
    for j in range(n):
        pay = roll_back(months, d, eom, n - 1 - j, step)
        frac = year_fraction(code, start, pay, start, pay, f)
        acc += frac
        out_pay[lo + j] = pay
        out_time[lo + j] = (pay - valuation) / 365.0
        out_amount[lo + j] = coupon[i] * frac
        out_yield_time[lo + j] = acc
        start = pay
    out_amount[lo + n - 1] += 100.0


@njit(cache=True, parallel=True)
def fill_cashflows(args):
    """Live cashflows per 100 face of each bond into the CSR slots ``offsets[i]:offsets[i+1]``.

    Coupon = coupon% x year fraction of its period; the last cashflow adds the 100 redemption.
    Yield time is QuantLib's stepwise time: the first period counts the coupon period minus the
    accrued part, later ones whole periods, accumulated from the valuation date.
    """
    for i in prange(len(args[0])):
        _fill_one(i, args)


@njit(cache=True)
def fill_cashflows_serial(args):
    """``fill_cashflows`` without threads, for small books. ``args`` is the tuple (maturity,
    coupon, frequency, day_count, valuation, offsets, out_pay, out_time, out_amount,
    out_yield_time, out_accrued, out_period)."""
    for i in range(len(args[0])):
        _fill_one(i, args)
