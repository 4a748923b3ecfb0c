"""Benchmarks: the engine against QuantLib and plain numpy in one run (``python -m benchmarks``)."""

from benchmarks.suite import run_suite

__all__ = ["run_suite"]
