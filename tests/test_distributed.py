"""Runs shard by shard on a real Dask cluster (a LocalCluster of 2 processes): the same
result, bit for bit, as a single-process run with the same shard size, for any shard size and
worker count; per-position detail written by the tasks as Parquet files; a worker that dies
mid-task; bad rows reported as a single-process run reports them; TLS; a single-process run
that never imports Dask."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import portfolios
import stress
import stress.batch as batch
from portfolios.problems import PortfolioValidationError
from stress.result import StressResult

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
MARKET = stress.Market.load(stress.default_market_path())
BOOK = portfolios.load(portfolios.sample_path("global_macro"))


def assert_same(a: StressResult, b: StressResult) -> None:
    """Bit for bit: every raw sum, worst position and ES component, and every frame."""
    assert a.raw.sums.tobytes() == b.raw.sums.tobytes()
    assert a.raw.worst.tobytes() == b.raw.worst.tobytes()
    assert a.raw.worst_pnl.tobytes() == b.raw.worst_pnl.tobytes()
    assert a.raw.worst_detail.tobytes() == b.raw.worst_detail.tobytes()
    assert a.summary.equals(b.summary)
    assert a.worst.equals(b.worst)
    assert a.groups.keys() == b.groups.keys()
    for k in a.groups:
        assert a.groups[k].equals(b.groups[k])
    assert a.components.keys() == b.components.keys()
    for level in a.components:
        assert a.components[level].tobytes() == b.components[level].tobytes()
    assert a.rejects.equals(b.rejects)


@pytest.mark.parametrize("size", [1, 3, 7, 50_000])
def test_a_cluster_run_is_a_single_process_run_bit_for_bit(dask_client: Any, size: int) -> None:
    kw: dict[str, Any] = {"by": ["currency", "maturity_bucket"], "risk": [0.99, 0.9],
                          "shard_positions": size}
    one = stress.run(BOOK, MARKET, "all", **kw)
    many = stress.run(BOOK, MARKET, "all", client=dask_client, **kw)
    assert_same(one, many)
    # Worst positions for every scenario (one pass), and the default shard size.
    assert_same(stress.run(BOOK, MARKET, "all", worst_scenarios=None, shard_positions=size),
                stress.run(BOOK, MARKET, "all", worst_scenarios=None, shard_positions=size,
                           client=dask_client))


def test_a_larger_book_on_the_cluster(dask_client: Any) -> None:
    """Several shards of a synthetic book: the cluster's sums equal a single-process run's
    (which forms its own sums per shard of the same size inside the kernels)."""
    book = portfolios.load(portfolios.synthetic_book(2_000, seed=5))
    one = stress.run(book, MARKET, "all", shard_positions=300, worst=5, risk=[0.95])
    many = stress.run(book, MARKET, "all", shard_positions=300, worst=5, risk=[0.95],
                      client=dask_client)
    assert_same(one, many)


def test_scenarios_are_split_too(dask_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "TASK_SCENARIOS", 10)
    one = stress.run(BOOK, MARKET, "all", shard_positions=5, risk=[0.95])
    assert_same(one, stress.run(BOOK, MARKET, "all", shard_positions=5, risk=[0.95],
                                client=dask_client))


def test_positions_are_parquet_parts_written_by_the_tasks(dask_client: Any,
                                                           tmp_path: Path) -> None:
    one = stress.run(BOOK, MARKET, "all", detail="positions", shard_positions=4)
    many = stress.run(BOOK, MARKET, "all", detail="positions", shard_positions=4,
                      client=dask_client, positions_dir=tmp_path / "positions")
    assert_same(one, many)
    parts = sorted(p.name for p in (tmp_path / "positions").iterdir())
    assert parts == list(many.positions_parts) and len(parts) == 5  # 17 positions / 4
    want = one.positions.with_columns(pl.col("scenario", "position_id").cast(pl.String))
    key = ["position_id", "scenario"]
    for read in (pl.scan_parquet(tmp_path / "positions").collect(),
                 pl.from_arrow(_dataset(tmp_path / "positions")), many.scan_positions().collect()):
        assert isinstance(read, pl.DataFrame)
        assert read.sort(key).equals(want.sort(key))
    with pytest.raises(ValueError, match="scan_positions"):
        _ = many.positions


def _dataset(path: Path) -> Any:
    import pyarrow.dataset as ds

    return ds.dataset(path, format="parquet").to_table()


def _die_once(marker: str, *args: Any) -> Any:
    """Kill the worker process running the first task; later attempts run the real task."""
    if not os.path.exists(marker):
        with open(marker, "w"):
            pass
        os._exit(1)
    from stress.shards import sums_task

    return sums_task(*args)


def test_a_worker_that_dies_mid_task_is_replaced(dask_client: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        marker = tmp_path / "died"
        monkeypatch.setattr(batch, "sums_task", functools.partial(_die_once, str(marker)))
        many = stress.run(BOOK, MARKET, "all", shard_positions=3, client=dask_client)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert marker.exists()  # a worker did die
    assert_same(stress.run(BOOK, MARKET, "all", shard_positions=3), many)
    dask_client.wait_for_workers(2, timeout=60)


BAD = """position_id,instrument,currency,notional,coupon,maturity,convention,clean_price
UST_10Y,bond,USD,10000000,4.25,2035-11-15,UST,
OLD,bond,USD,1000000,4,2020-01-15,UST,
RICH,bond,USD,1000000,4,2030-01-15,UST,0.5
BUND,bond,EUR,1000000,2.5,2035-02-15,BUND,
JGB,bond,JPY,-2000000000,1.9,2065-03-20,JGB,
ok,bond,USD,1000000,4,2030-01-15,UST,99
"""


def test_bad_rows_are_reported_as_a_single_process_run_reports_them(
        dask_client: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(BAD)
    scen = tmp_path / "scen.toml"
    scen.write_text("[[scenario]]\nname = 'up'\n[scenario.rates.ALL]\nparallel_bp = 50\n"
                    "[[scenario]]\nname = 'yen'\n[scenario.fx]\nJPY = -5\n")
    market = stress.Market.from_dict({
        "valuation_date": "2026-01-20", "base_currency": "USD",
        "curves": {"USD": {"type": "zero", "tenors": ["1Y", "30Y"], "rates": [4.0, 4.5]},
                   "JPY": {"type": "zero", "tenors": ["1Y", "40Y"], "rates": [0.8, 3.9]}},
        "fx": {"USDJPY": 158.0}})
    book = portfolios.load(path, valuation_date=market.valuation_date, skip_invalid=True)
    one = stress.run(book, market, str(scen), skip_invalid=True, shard_positions=2)
    many = stress.run(book, market, str(scen), skip_invalid=True, shard_positions=2,
                      client=dask_client)
    assert_same(one, many)
    assert set(many.rejects["position_id"]) == {"OLD", "RICH", "BUND"}
    for without in (portfolios.load(path), book):
        with pytest.raises(Exception) as single:
            stress.run(without, market, str(scen), shard_positions=2)
        with pytest.raises(Exception) as cluster:
            stress.run(without, market, str(scen), shard_positions=2, client=dask_client)
        assert type(single.value) is type(cluster.value)
        assert str(single.value) == str(cluster.value)
    no_market = portfolios.load(path, valuation_date=market.valuation_date, skip_invalid=True)
    rich = portfolios.Portfolio(no_market.frame.filter(pl.col("position_id") != "BUND"),
                                no_market.source)
    with pytest.raises(PortfolioValidationError, match="RICH") as exc:
        stress.run(rich, market, str(scen), client=dask_client)
    with pytest.raises(PortfolioValidationError) as single_exc:
        stress.run(rich, market, str(scen))
    assert str(exc.value) == str(single_exc.value)


def test_the_local_cluster_listens_on_loopback_only(dask_client: Any) -> None:
    info = dask_client.scheduler_info()
    assert dask_client.scheduler.address.startswith("tcp://127.0.0.1:")
    assert info["workers"] and all(w.startswith("tcp://127.0.0.1:") for w in info["workers"])
    assert all(w["nthreads"] == 1 for w in info["workers"].values())
    # Every socket the cluster listens on (scheduler and its HTTP server in this process,
    # nannies and workers in child processes) is bound to the loopback interface.
    import psutil

    me = psutil.Process()
    listening = [c.laddr for p in [me, *me.children(recursive=True)]
                 for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_a_tls_cluster(tmp_path: Path) -> None:
    """A scheduler that speaks only TLS, with certificates from Dask's own Security: the API
    with a client of it, and the CLI with --cluster tls://... and the certificates in Dask's
    configuration."""
    import dask
    from distributed import Client
    from distributed.security import Security

    from stress.cli import main
    from stress.cluster import local_cluster

    sec = Security.temporary()
    with local_cluster(1, security=sec, protocol="tls") as cluster, \
            Client(cluster, security=sec) as client:  # fmt: skip
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        one = stress.run(BOOK, MARKET, "irrbb", shard_positions=6)
        assert_same(one, stress.run(BOOK, MARKET, "irrbb", shard_positions=6, client=client))
        files = {}
        for name in ("tls_ca_file", "tls_client_cert", "tls_client_key"):
            files[name] = tmp_path / f"{name}.pem"
            files[name].write_text(getattr(sec, name))
        config = {"distributed.comm.require-encryption": True,
                  "distributed.comm.tls.ca-file": str(files["tls_ca_file"]),
                  "distributed.comm.tls.client.cert": str(files["tls_client_cert"]),
                  "distributed.comm.tls.client.key": str(files["tls_client_key"])}
        with dask.config.set(config):
            code = main(["run", "-s", "irrbb", "--cluster", address, "--shard-positions", "6",
                         "--out", str(tmp_path / "out")])
        assert code == 0
        summary = pl.read_parquet(tmp_path / "out" / "summary.parquet")
        assert summary.equals(one.summary)


def test_a_single_process_run_never_imports_dask_or_pandas(tmp_path: Path) -> None:
    """Neither is needed on the core path (pandas alone is 0.3 s of the CLI's start)."""
    code = (
        "import sys, portfolios, shocks, stress\n"
        "from stress.cli import main\n"
        "m = stress.Market.load(stress.default_market_path())\n"
        "b = portfolios.load(portfolios.sample_path('global_macro'))\n"
        "stress.run(b, m, 'irrbb')\n"
        f"stress.run(b, m, 'irrbb', detail='positions', positions_dir={str(tmp_path / 'p')!r})\n"
        f"assert main(['run', '-s', 'irrbb', '--out', {str(tmp_path / 'o')!r}]) == 0\n"
        "import typing\n"  # the API's hints resolve (pandas frames among the sources) without it
        "for f in (stress.run, stress.analytics, stress.Session.what_if, portfolios.load,\n"
        "          shocks.History.load):\n"
        "    typing.get_type_hints(f)\n"
        "heavy = ('dask', 'distributed', 'pandas')\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout


def test_a_sharded_run_without_a_cluster_equals_one_in_memory(tmp_path: Path) -> None:
    one = stress.run(BOOK, MARKET, "all", detail="positions", shard_positions=5, risk=[0.9])
    here = stress.run(BOOK, MARKET, "all", detail="positions", shard_positions=5, risk=[0.9],
                      positions_dir=tmp_path / "p", work_dir=tmp_path / "w")
    assert_same(one, here)
    key = ["position_id", "scenario"]
    want = one.positions.with_columns(pl.col("scenario", "position_id").cast(pl.String))
    assert here.scan_positions().collect().sort(key).equals(want.sort(key))
    assert np.isfinite(here.raw.sums).all()


def test_a_sum_that_is_not_finite_is_named_as_in_one_process(dask_client: Any) -> None:
    """The last guard (inputs so extreme the arithmetic overflows): the sharded run names the
    same scenario and culprit as ``stress.evaluate.check_finite``."""
    from stress.batch import SerialExecutor, _check_finite, _Handles, layout_names
    from stress.cluster import DaskExecutor
    from stress.engine import load_for
    from stress.evaluate import NumericalError, check_finite
    from stress.groups import groupings
    from stress.prepare import prepare
    from stress.resolve import resolve
    from stress.shards import Shared, cut

    scen = load_for(MARKET, "irrbb")
    prepared = prepare(BOOK, MARKET)
    groups = groupings(BOOK, (), prepared.book.cashflows.valuation_day)
    curves, currencies = layout_names(BOOK)
    shocks = resolve(scen, MARKET, curves, currencies)
    raw = stress.run(BOOK, MARKET, scen).raw
    raw.sums[2, 0, 0] = np.inf
    with pytest.raises(NumericalError) as single:
        check_finite(raw, prepared, resolve(scen, MARKET, prepared.book.currencies,
                                            prepared.book.position_currencies), scen)
    shared = Shared("k", MARKET, shocks, scen.names, groups.names, groups.labels, 10, False,
                    False, None, False)
    shards = cut(BOOK, groups, 4)
    for executor in (SerialExecutor(), DaskExecutor(dask_client)):
        for blocks in ([(i, 1) for i in range(len(shards))], [(0, 2), (2, 3)]):
            with pytest.raises(NumericalError) as sharded:
                _check_finite(raw, executor.share(shared), blocks, _Handles(executor, shards),
                              scen, executor, BOOK)
            assert str(sharded.value) == str(single.value)
    assert "irrbb_short_up" in str(single.value) and "the book's risk sums" in str(single.value)


def test_an_unreachable_scheduler_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    import dask

    from stress.cli import main

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["run", "-s", "irrbb", "--cluster", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert "Traceback" not in err


def test_a_sharded_run_rejects_what_a_single_run_rejects(tmp_path: Path) -> None:
    """The client's validation of a sharded run refuses (or with skip_invalid rejects) the same
    rows as laying the whole book out: a bond not issued yet and an expired swap included."""
    val = MARKET.valuation_date
    extra = pl.DataFrame({
        "position_id": ["NOT_ISSUED", "OLD_SWAP"], "instrument": ["bond", "swap"],
        "currency": ["USD", "USD"], "notional": [1e6, 1e6], "coupon": [4.0, 3.0],
        "maturity": [val.replace(year=val.year + 5), val], "issue_date": [
            val.replace(year=val.year + 1), None],
        "side": [None, "payer"], "frequency": [2, 2], "day_count": ["30/360", "30/360"],
        "float_frequency": [None, 4], "float_day_count": [None, "ACT/360"],
        "current_coupon": [None, 3.5],
    })
    path = tmp_path / "book.parquet"
    pl.concat([BOOK.frame.drop("row"), extra], how="diagonal_relaxed").write_parquet(path)
    book = portfolios.load(path)
    with pytest.raises(PortfolioValidationError) as one:
        stress.run(book, MARKET, "irrbb")
    with pytest.raises(PortfolioValidationError) as sharded:
        stress.run(book, MARKET, "irrbb", positions_dir=tmp_path / "p1")
    assert str(sharded.value) == str(one.value)
    assert "NOT_ISSUED" in str(one.value) and "OLD_SWAP" in str(one.value)
    single = stress.run(book, MARKET, "irrbb", skip_invalid=True)
    many = stress.run(book, MARKET, "irrbb", skip_invalid=True, work_dir=tmp_path / "w")
    assert single.rejects.equals(many.rejects)
    assert set(single.rejects["position_id"]) == {"NOT_ISSUED", "OLD_SWAP"}


def test_positions_ride_in_the_graph_without_dask_advising_otherwise(dask_client: Any) -> None:
    """A block of shards over Dask's large-graph threshold is held in the graph on purpose (a
    worker that dies is no loss): Dask's warning to scatter it instead is not shown."""
    import warnings

    import dask

    from stress.cluster import DaskExecutor

    payload = np.arange(50_000, dtype=np.float64)  # 400 kB
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "10kB"}):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            (held,) = DaskExecutor(dask_client).scatter([payload])
        assert not [w for w in seen if "large graph" in str(w.message)]
        with pytest.warns(UserWarning, match="large graph"):  # what Dask says otherwise
            dask_client.submit(np.copy, payload, pure=False).result()
    assert held.result().tobytes() == payload.tobytes()


# Beside the session's cluster, this one's scheduler finds Dask's HTTP port taken and says so.
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_local_workers_leave_ctrl_c_to_the_process_that_started_them() -> None:
    """A terminal's Ctrl-C goes to every process of the job: each worker printed its own
    tracebacks. They ignore SIGINT (also when their nanny starts them again) and stop when this
    process stops the cluster; this process keeps its own handler. A cluster of its own: the
    session's must not lose its workers if this fails."""
    import signal

    import distributed

    from stress.cluster import local_cluster

    with local_cluster(1) as cluster, distributed.Client(cluster) as client:
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        client.restart()
        pids = client.run(os.getpid)
        for pid in pids.values():
            os.kill(pid, signal.SIGINT)
        # The same worker, still answering (a worker taking the signal closed: it was gone).
        assert client.submit(sum, [1, 2], pure=False).result(timeout=30) == 3
        for pid in pids.values():
            os.kill(pid, 0)  # still there
        assert client.run(os.getpid) == pids
