"""Schedule and cashflow kernels: calendar arithmetic on day numbers, day counts, CSR fill.

Dates are int64 days since 1970-01-01. Calendar conversions use H. Hinnant's integer
civil-date algorithms, so a million bonds' schedules are built in one pass with no temporaries.
Day-count codes: 0 ACT/ACT-ICMA, 1 ACT/365F, 2 ACT/360, 3 30/360 US, 4 30E/360, 5 30/360 ISDA
(bond basis), 6 30E/360 ISDA, 7 ACT/ACT ISDA, 8 NL/365. Calendars are rows of a holiday table
(``stress.calendars``); business-day conventions 0 unadjusted, 1 following, 2 modified
following, 3 preceding, 4 modified preceding. Every rule is QuantLib's (see the functions).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Bits of ``broken_terms``, one per rule of the terms the schedule kernels take.
TERMS_MATURITY = 1  # maturity after the valuation day
TERMS_CODES = 2  # frequency 1, 2, 4 or 12; day count 0-8
TERMS_CALENDAR = 4  # calendar 0-5, convention 0-4, settlement and ex-dividend days >= 0
TERMS_DATES = 8  # issue on or before valuation and before maturity; first coupon after
# issue, by maturity


@njit(cache=True)
def broken_terms(val, maturity, frequency, day_count, issue, first, cal, bdc, lag, ex, no_date):
    """The TERMS_* bits of the rules some bond breaks (0: every bond can be scheduled). One
    pass in a kernel: numpy's dozen tests on arrays of one bond cost a what-if's trade more
    than building its schedule."""
    out = 0
    for i in range(len(maturity)):
        if maturity[i] <= val:
            out |= TERMS_MATURITY
        f = frequency[i]
        if (f != 1 and f != 2 and f != 4 and f != 12) or day_count[i] < 0 or day_count[i] > 8:
            out |= TERMS_CODES
        if cal[i] < 0 or cal[i] > 5 or bdc[i] < 0 or bdc[i] > 4 or lag[i] < 0 or ex[i] < 0:
            out |= TERMS_CALENDAR
        has_issue = issue[i] != no_date
        if has_issue and (issue[i] > val or issue[i] >= maturity[i]):
            out |= TERMS_DATES
        if first[i] != no_date and (
            not has_issue or first[i] <= issue[i] or first[i] > maturity[i]
        ):
            out |= TERMS_DATES
    return out


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


#: "No date" in the issue and first-coupon arrays.
NO_DATE = -(2**62)
#: "No bound" on the coupon index of a bond without an issue date.
_NO_LIMIT = 2**40

# Business-day convention codes (portfolios.conventions.BUSINESS_DAY_CONVENTIONS).
UNADJUSTED, FOLLOWING, MODIFIED_FOLLOWING, PRECEDING, MODIFIED_PRECEDING = 0, 1, 2, 3, 4

_NL_MONTH_OFFSET = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


@njit(cache=True)
def month_index(d):
    y, m, _ = civil_from_days(d)
    return y * 12 + m - 1


@njit(cache=True)
def is_month_end(d):
    y, m, dd = civil_from_days(d)
    return dd == days_in_month(y, m)


@njit(cache=True)
def add_months(d, n):
    """QuantLib's ``Date + n*Months``: the day clamped to the month's length."""
    y, m, dd = civil_from_days(d)
    months = y * 12 + m - 1 + n
    yy = months // 12
    mm = months - yy * 12 + 1
    return days_from_civil(yy, mm, min(dd, days_in_month(yy, mm)))


@njit(cache=True)
def add_months_eom(d, n):
    """QuantLib's ``NullCalendar().advance(d, n, Months, Unadjusted, endOfMonth=True)``: a
    month end stays a month end, any other day is clamped."""
    y, m, dd = civil_from_days(d)
    months = y * 12 + m - 1 + n
    yy = months // 12
    mm = months - yy * 12 + 1
    dim = days_in_month(yy, mm)
    return days_from_civil(yy, mm, dim if dd == days_in_month(y, m) else min(dd, dim))


# --- calendars -----------------------------------------------------------------------------


@njit(cache=True)
def is_holiday(cal, d, table, start):
    """Whether day ``d`` is a holiday of calendar ``cal`` (0 = none: never; outside the table:
    weekends)."""
    if cal == 0:
        return False
    i = d - start
    if 0 <= i < table.shape[1]:
        return table[cal, i] != 0
    return (d + 3) % 7 >= 5


@njit(cache=True)
def _following(d, cal, table, start):
    while is_holiday(cal, d, table, start):
        d += 1
    return d


@njit(cache=True)
def _preceding(d, cal, table, start):
    while is_holiday(cal, d, table, start):
        d -= 1
    return d


@njit(cache=True)
def adjust(d, bdc, cal, table, start):
    """QuantLib's ``Calendar.adjust``: Following, Modified Following (Preceding when the
    following day is in another month), Preceding, Modified Preceding, or unadjusted."""
    if bdc == UNADJUSTED or cal == 0:
        return d
    if bdc in (FOLLOWING, MODIFIED_FOLLOWING):
        d1 = _following(d, cal, table, start)
        if bdc == MODIFIED_FOLLOWING and d1 != d and month_index(d1) != month_index(d):
            return _preceding(d, cal, table, start)
        return d1
    d1 = _preceding(d, cal, table, start)
    if bdc == MODIFIED_PRECEDING and d1 != d and month_index(d1) != month_index(d):
        return _following(d, cal, table, start)
    return d1


@njit(cache=True)
def advance_days(d, n, cal, table, start):
    """QuantLib's ``Calendar.advance(d, n, Days)``: n business days later (earlier for n < 0);
    for n = 0 the day itself rolled Following."""
    if n == 0:
        return _following(d, cal, table, start)
    while n > 0:
        d += 1
        while is_holiday(cal, d, table, start):
            d += 1
        n -= 1
    while n < 0:
        d -= 1
        while is_holiday(cal, d, table, start):
            d -= 1
        n += 1
    return d


# --- day counts ----------------------------------------------------------------------------


@njit(cache=True)
def _is_last_of_february(y, m, d):
    return m == 2 and d == days_in_month(y, 2)


@njit(cache=True)
def _thirty_360(d1, d2, code, termination):
    """Day count of the 30/360 family (codes 3 US, 4 30E/360, 5 bond basis, 6 30E/360 ISDA
    with ``termination`` as the termination date), QuantLib's formulas."""
    y1, m1, dd1 = civil_from_days(d1)
    y2, m2, dd2 = civil_from_days(d2)
    if code == 3:
        if _is_last_of_february(y1, m1, dd1):
            if _is_last_of_february(y2, m2, dd2):
                dd2 = 30
            dd1 = 30
        if dd2 == 31 and dd1 >= 30:
            dd2 = 30
        if dd1 == 31:
            dd1 = 30
    elif code == 4:
        dd1 = min(dd1, 30)
        dd2 = min(dd2, 30)
    elif code == 5:
        if dd1 == 31:
            dd1 = 30
        if dd2 == 31 and dd1 == 30:
            dd2 = 30
    else:
        feb1 = _is_last_of_february(y1, m1, dd1)
        feb2 = _is_last_of_february(y2, m2, dd2)
        dd1 = min(dd1, 30)
        dd2 = min(dd2, 30)
        if feb1:
            dd1 = 30
        if d2 != termination and feb2:
            dd2 = 30
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (dd2 - dd1)


@njit(cache=True)
def _act_act_isda(d1, d2):
    if d1 == d2:
        return 0.0
    sign = 1.0
    if d1 > d2:
        d1, d2 = d2, d1
        sign = -1.0
    y1, _, _ = civil_from_days(d1)
    y2, _, _ = civil_from_days(d2)
    dib1 = 366.0 if days_in_month(y1, 2) == 29 else 365.0
    dib2 = 366.0 if days_in_month(y2, 2) == 29 else 365.0
    s = float(y2 - y1 - 1)
    s += (days_from_civil(y1 + 1, 1, 1) - d1) / dib1
    s += (d2 - days_from_civil(y2, 1, 1)) / dib2
    return sign * s


@njit(cache=True)
def _no_leap_serial(d):
    y, m, dd = civil_from_days(d)
    s = dd + _NL_MONTH_OFFSET[m - 1] + y * 365
    if m == 2 and dd == 29:
        s -= 1
    return s


@njit(cache=True)
def no_leap_days(d1, d2):
    """Days from d1 to d2 not counting 29 February (QuantLib's Actual365Fixed.NoLeap)."""
    return _no_leap_serial(d2) - _no_leap_serial(d1)


@njit(cache=True)
def _ref_months(rs, re):
    """QuantLib's estimate of a reference period's length in months: lround(12 days / 365)."""
    return int(np.floor(12.0 * (re - rs) / 365.0 + 0.5))


@njit(cache=True)
def _isma_base(d1, d2, rs, re, months):
    """ACT/ACT-ICMA inside a reference period: rs <= d1 <= d2 <= re (``months``: the period's
    length in months, or -1 to estimate it as QuantLib does)."""
    if d1 == d2:
        return 0.0
    if months < 0:
        months = _ref_months(rs, re)
    return (months / 12.0) * (d2 - d1) / (re - rs)


@njit(cache=True)
def _isma_back(d1, d2, rs, re, months, known):
    """ACT/ACT-ICMA for d1 < d2 <= re: notional periods counted back from rs while d1 is
    before it (QuantLib's long first coupon). ``known``: ``months`` is every period's length
    (else QuantLib's estimate is taken again for each)."""
    m = months if known else -1
    total = 0.0
    while d1 < rs:
        prev = add_months(rs, -months)
        if d2 > rs:
            total += _isma_base(rs, d2, rs, re, m)
            d2 = rs
        re = rs
        rs = prev
        if not known:
            months = _ref_months(rs, re)
    return _isma_base(d1, d2, rs, re, m) + total


@njit(cache=True)
def _isma(d1, d2, rs, re, months):
    """QuantLib's ActualActual(ISMA) year fraction without a schedule (its 'old' ISMA):
    the reference period [rs, re] scaled to its length in months, notional periods before it
    for a long first period and after it for dates beyond its end. QuantLib refuses a start
    before the reference period with an end after it; here the two parts add up. ``months``
    is the reference period's length in months when the caller knows it (a whole number of
    coupon periods, as QuantLib would estimate), else -1."""
    if d1 == d2:
        return 0.0
    if d2 < d1:
        return -_isma_forward(d2, d1, rs, re, months)
    return _isma_forward(d1, d2, rs, re, months)


@njit(cache=True)
def _isma_forward(d1, d2, rs, re, months):
    """``_isma`` for d1 < d2."""
    known = months >= 0
    if known and rs <= d1 and d2 <= re:  # inside the reference period: the usual case
        return _isma_base(d1, d2, rs, re, months)
    if not known:
        months = _ref_months(rs, re)
    if months == 0:
        rs = d1
        re = add_months(d1, 12)
        months = 12
    if d2 <= re:
        return _isma_back(d1, d2, rs, re, months, known)
    # QuantLib: the part up to re, then whole periods and the rest counted forward from re.
    # (It refuses d1 outside [rs, re); here d1 before rs counts back, after re forward.)
    if d1 < re:
        head = _isma_back(d1, re, rs, re, months, known)
    elif d1 > re:
        head = -_isma_after(0.0, re, d1, months, known)
    else:
        head = 0.0
    return _isma_after(head, re, d2, months, known)


@njit(cache=True)
def _isma_after(total, re, d2, months, known):
    """``total`` plus ACT/ACT-ICMA from re to d2 > re: whole periods of ``months`` counted
    forward from re, then the part of the last one."""
    i = 0
    nrs = re
    nre = add_months(re, months)
    while d2 >= nre:
        total += months / 12.0
        i += 1
        nrs = add_months(re, months * i)
        nre = add_months(re, months * (i + 1))
    return total + _isma_base(nrs, d2, nrs, nre, months if known else -1)


@njit(cache=True)
def year_fraction_t(code, d1, d2, ref_start, ref_end, termination, months=-1):
    """QuantLib's year fraction from d1 to d2 (d1 > d2 allowed). [ref_start, ref_end] is the
    coupon's reference period (ACT/ACT-ICMA only; ``months`` its length when known, else
    QuantLib's estimate); ``termination`` the bond's maturity (30E/360 ISDA only)."""
    if code == 0:
        return _isma(d1, d2, ref_start, ref_end, months)
    if code == 1:
        return (d2 - d1) / 365.0
    if code == 2:
        return (d2 - d1) / 360.0
    if code == 7:
        return _act_act_isda(d1, d2)
    if code == 8:
        return no_leap_days(d1, d2) / 365.0
    return _thirty_360(d1, d2, code, termination) / 360.0


@njit(cache=True)
def year_fraction(code, d1, d2, ref_start, ref_end, frequency):
    """``year_fraction_t`` without a termination date (``frequency`` is unused: QuantLib takes
    the period's length from the reference period)."""
    return year_fraction_t(code, d1, d2, ref_start, ref_end, -1)


# --- schedules -----------------------------------------------------------------------------


@njit(cache=True)
def _first_index(maturity, months, d, eom, step, issue, first):
    """Index k (periods before maturity) of the first coupon: the first coupon date's, or the
    first regular date after the issue date; no limit without an issue date."""
    if first != NO_DATE:
        return (months - month_index(first)) // step
    if issue != NO_DATE:
        k = (months - month_index(issue)) // step
        return k if roll_back(months, d, eom, k, step) > issue else k - 1
    return _NO_LIMIT


@njit(cache=True)
def _count_after(day, months, d, eom, step, k_first, bdc, cal, table, start):
    """Number of coupons k = 0 ... k_first whose payment date is strictly after ``day``
    (payment dates only move by days, so they are the k below some bound)."""
    k0 = (months - month_index(day)) // step
    n = k0 + (1 if roll_back(months, d, eom, k0, step) > day else 0)
    n = min(max(n, 0), k_first + 1)
    while n > 0 and adjust(roll_back(months, d, eom, n - 1, step), bdc, cal, table, start) <= day:
        n -= 1
    while n <= k_first and adjust(roll_back(months, d, eom, n, step), bdc, cal, table, start) > day:
        n += 1
    return n


@njit(cache=True)
def _count_one(i, valuation, args):
    (maturity, frequency, issue, first, calendar, bdc, table, start) = args
    y, m, d = civil_from_days(maturity[i])
    months = y * 12 + m - 1
    step = 12 // frequency[i]
    eom = d == days_in_month(y, m)
    k_first = _first_index(maturity[i], months, d, eom, step, issue[i], first[i])
    return _count_after(valuation, months, d, eom, step, k_first, bdc[i], calendar[i], table,
                        start)


@njit(cache=True, parallel=True)
def count_live(valuation, args, out_n):
    """Number of payment dates strictly after ``valuation`` for each bond. ``args`` is the
    tuple (maturity, frequency, issue, first_coupon, calendar, business_day_convention,
    holiday table, table start day)."""
    for i in prange(len(out_n)):
        out_n[i] = _count_one(i, valuation, args)


@njit(cache=True)
def count_live_serial(valuation, args, out_n):
    """``count_live`` without threads, for small books (thread start-up costs more)."""
    for i in range(len(out_n)):
        out_n[i] = _count_one(i, valuation, args)


@njit(cache=True)
def _fill_one(i, args):
    (maturity, frequency, issue, first, calendar, bdc, table, start, coupon, day_count,
     settlement_days, ex_days, adjusted, offsets, valuation, out_pay, out_time, out_amount,
     out_yield_time, out_accrued, out_period, out_settle, out_unquoted, out_drop) = args
    mat = maturity[i]
    y, m, d = civil_from_days(mat)
    months = y * 12 + m - 1
    step = 12 // frequency[i]
    eom = d == days_in_month(y, m)
    cal = calendar[i]
    conv = bdc[i]
    code = day_count[i]
    c = coupon[i]
    ex = ex_days[i]
    iss = issue[i]
    k_first = _first_index(mat, months, d, eom, step, iss, first[i])
    # Swaps and FRNs are quoted on the valuation date itself, even a holiday (T+0, unrolled).
    settle = valuation if adjusted else advance_days(valuation, settlement_days[i], cal, table,
                                                     start)  # fmt: skip
    lo = offsets[i]
    n = offsets[i + 1] - lo
    n_quoted = _count_after(settle, months, d, eom, step, k_first, conv, cal, table, start)
    out_settle[i] = settle
    out_unquoted[i] = n - n_quoted
    out_drop[i] = 0.0
    out_accrued[i] = 0.0
    out_period[i, 0] = mat
    out_period[i, 1] = mat
    last = settle
    acc = 0.0
    # Swaps' and FRNs' periods run between the adjusted dates (QuantLib's legs on an adjusted
    # schedule); a bond's between the unadjusted ones, its payments alone rolled.
    term = adjust(mat, conv, cal, table, start) if adjusted else mat
    begin = roll_back(months, d, eom, n, step)
    for j in range(n):
        k = n - 1 - j
        a_end = roll_back(months, d, eom, k, step)
        if k == k_first and iss != NO_DATE:
            a_start, r_start = iss, add_months_eom(a_end, -step)
        else:
            a_start, r_start = begin, begin
        r_end = a_end
        begin = a_end
        pay = adjust(a_end, conv, cal, table, start)
        if adjusted:
            a_start = adjust(a_start, conv, cal, table, start)
            a_end, r_start, r_end = pay, a_start, pay
        frac = year_fraction_t(code, a_start, a_end, r_start, r_end, term, step)
        amount = c * frac
        ex_date = advance_days(pay, -ex, cal, table, start) if ex > 0 else NO_DATE
        if j == 0:
            out_period[i, 0] = a_start
            out_period[i, 1] = a_end
        quoted = j >= n - n_quoted
        if quoted and j == n - n_quoted:
            # The coupon the settlement date falls in: accrued (negative when ex-dividend,
            # QuantLib's FixedRateCoupon.accruedAmount) and, when it goes ex between the
            # valuation date and settlement, the coupon the quote leaves out.
            if settle > a_start:
                if ex > 0 and ex_date <= settle:
                    out_accrued[i] = -c * year_fraction_t(code, settle, max(settle, a_end),
                                                          r_start, r_end, term, step)
                else:
                    out_accrued[i] = c * year_fraction_t(code, a_start, min(settle, a_end),
                                                         r_start, r_end, term, step)
            if ex > 0 and valuation < ex_date <= settle:
                out_drop[i] = amount
        if ex > 0 and ex_date <= valuation:
            amount = 0.0
        if k == 0:
            amount += 100.0
        out_pay[lo + j] = pay
        out_time[lo + j] = (pay - valuation) / 365.0
        out_amount[lo + j] = amount
        if quoted:
            # QuantLib's stepwise yield time from the settlement date (CashFlows::npv).
            if last != a_start:
                acc += year_fraction_t(code, a_start, pay, r_start, r_end, term, step) - \
                    year_fraction_t(code, a_start, last, r_start, r_end, term, step)
            elif pay == a_end:
                acc += frac  # the same year fraction: from the accrual start to its end
            else:
                acc += year_fraction_t(code, last, pay, r_start, r_end, term, step)
            out_yield_time[lo + j] = acc
            last = pay
        else:
            out_yield_time[lo + j] = 0.0


@njit(cache=True, parallel=True)
def fill_cashflows(args):
    """Cashflows per 100 face of each bond paid after ``valuation`` into the CSR slots
    ``offsets[i]:offsets[i+1]``, and what its quotes on the settlement date need.

    Coupon k accrues over its unadjusted period (with ``adjusted``: over its period's dates
    rolled on the calendar, as a swap's legs do) and pays coupon% x its year fraction on the
    period's end rolled on the bond's calendar; the last cashflow adds the 100 redemption. A
    coupon ex-dividend on the valuation date is not received (amount 0). Rows paid on or
    before settlement (``out_unquoted`` of them, the first) are left out of quotes, and the
    first quoted row's amount is less ``out_drop`` when that coupon goes ex-dividend after the
    valuation date but by settlement. Yield time is QuantLib's stepwise time in the bond's day
    count from settlement (0 on unquoted rows); ``out_accrued`` is accrued at settlement.
    """
    for i in prange(len(args[0])):
        _fill_one(i, args)


@njit(cache=True)
def fill_cashflows_serial(args):
    """``fill_cashflows`` without threads, for small books. ``args`` is the flat tuple: the
    schedule arrays of ``count_live``, then coupon, day_count, settlement_days,
    ex_dividend_days, offsets, the valuation day, and the outputs pay, time, amount,
    yield_time, accrued, period, settlement, unquoted, drop."""
    for i in range(len(args[0])):
        _fill_one(i, args)


@njit(cache=True)
def simple_yield_years(settlement, maturity, out_years):
    """Years from settlement to maturity as the Japanese market counts them for the simple
    yield: days / 365, not counting 29 February when the maturity is a year or more away
    (on or after settlement + 12 months), counting it when less."""
    for i in range(len(out_years)):
        s = settlement[i]
        m = maturity[i]
        if m >= add_months(s, 12):
            out_years[i] = no_leap_days(s, m) / 365.0
        else:
            out_years[i] = (m - s) / 365.0
