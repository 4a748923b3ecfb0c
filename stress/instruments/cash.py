"""Currency cash (``instrument = fx``): an amount of its currency; only FX moves its value in
the base currency."""

from __future__ import annotations

from stress.instruments.base import Instrument
from stress.kernels.scenarios import CASH as CASH_FORM

CASH = Instrument(name="fx", form=CASH_FORM)
