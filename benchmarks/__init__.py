"""Benchmarks: the engine against QuantLib, a plain numba baseline and numpy, in one run, on a
dense-dates book and a month-end book (``python -m benchmarks``)."""

from benchmarks.suite import run_suite

__all__ = ["run_suite"]
