"""The detail's pages (stress.pages): a positions run writes every value of pages it reuses,
they are kept only after nothing reads them and only for KEEP_SECONDS."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import portfolios
import stress
from stress import pages

MARKET = stress.Market.load(stress.default_market_path())
BOOK = portfolios.load(portfolios.sample_path("global_macro"))  # bonds, an FRN, a future, FX, gold


@pytest.fixture(autouse=True)
def nothing_kept() -> Iterator[None]:
    gc.collect()  # results of earlier tests give their pages back
    pages.release()
    yield
    pages.release()


def _positions(book: portfolios.Portfolio = BOOK) -> pl.DataFrame:
    return stress.run(book, MARKET, "all", detail="positions").positions


@pytest.mark.parametrize("sample", ["global_macro", "jgb_life_insurer"])  # the second: a swap
def test_a_run_into_reused_pages_writes_every_value(sample: str) -> None:
    book = portfolios.load(portfolios.sample_path(sample))
    first = _positions(book)
    want = pl.read_ipc(first.write_ipc(None).getvalue())  # a copy: clone() shares buffers
    del first
    assert pages.kept_bytes() > 0
    for _, kept in pages._kept:  # poison them: a value the run skipped would show
        kept[:] = b"\xff" * len(kept)
    again = _positions(book)
    assert pages.kept_bytes() == 0  # it took them
    assert_frame_equal(again, want)


def test_pages_are_kept_only_when_nothing_reads_them() -> None:
    frame = _positions()
    pnl = frame["pnl"].to_numpy()
    del frame
    assert pages.kept_bytes() == 0  # the column still reads them
    del pnl
    assert pages.kept_bytes() > 0
    frame = _positions()
    pnl = frame["pnl"].to_numpy()
    fresh = _positions()  # a second run while the first is held: pages of its own
    assert not np.shares_memory(pnl, fresh["pnl"].to_numpy())


def test_only_a_mapping_of_the_size_or_up_to_twice_it_is_reused() -> None:
    a = pages.float_pages((4, 1000))
    del a
    kept = pages.kept_bytes()
    assert kept == 8 * 4 * 1000
    b = pages.float_pages((4, 2001))  # larger than the kept pages
    c = pages.float_pages((4, 499))  # smaller than half of them
    assert pages.kept_bytes() == kept
    d = pages.float_pages((4, 600))
    assert pages.kept_bytes() == 0 and d.shape == (4, 600)
    del b, c, d


def test_kept_pages_go_back_to_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "KEEP_SECONDS", 0.05)
    a = pages.float_pages((2, 1000))
    del a
    assert pages.kept_bytes() > 0
    deadline = time.monotonic() + 10
    while pages.kept_bytes() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pages.kept_bytes() == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_starts_with_nothing_kept() -> None:
    a = pages.float_pages((2, 1000))
    del a
    assert pages.kept_bytes() > 0
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(w, str(pages.kept_bytes()).encode())
        os._exit(0)
    os.close(w)
    got = os.read(r, 64)
    os.close(r)
    os.waitpid(pid, 0)
    assert got == b"0"
    assert pages.kept_bytes() > 0  # the parent keeps its own


def test_an_empty_shape_takes_no_pages() -> None:
    assert pages.float_pages((20, 0)).shape == (20, 0)
    assert pages.kept_bytes() == 0


def test_pages_beyond_memory_are_a_memory_error() -> None:
    """As numpy says it (callers and the benchmarks catch MemoryError): 176 TB of detail is
    more than a process can map."""
    with pytest.raises(MemoryError, match="no memory for"):
        pages.float_pages((20, 1 << 40))
