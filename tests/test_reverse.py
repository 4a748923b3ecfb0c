"""Reverse stress and the engine side of scenarios from data: the most plausible move reaches
its loss, is no less plausible than any historical move rescaled to the same loss, and is
written as a scenario file that reproduces the loss; generated sets, predictive fills and the
risk panel through the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import portfolios
import shocks
import stress
from shocks.covariance import covariance
from stress.cli import main
from stress.histories import market_history
from stress.reverse_stress import ReverseStressError, _distance, chi2_sf, reverse

MARKET = stress.Market.load(stress.default_market_path())
BOOK = portfolios.load(portfolios.sample_path("global_macro"))
HISTORY = market_history(MARKET)
WINDOW = ("2019-01-01", "2024-06-30")


@pytest.fixture(scope="module")
def answer() -> stress.ReverseStress:
    return reverse(BOOK, MARKET, 20e6, window=WINDOW)


def test_reverse_reaches_its_loss(answer: stress.ReverseStress) -> None:
    assert abs(answer.pnl + 20e6) <= 1e-3 * 20e6
    full = stress.run(BOOK, MARKET, answer.scenario).summary["pnl"][0]
    assert full == pytest.approx(answer.pnl, rel=1e-12)
    assert answer.positions["pnl"].sum() == pytest.approx(answer.pnl, rel=1e-9)
    assert answer.distance > 0 and answer.linear_distance > 0
    assert 0 < answer.tail_probability < 0.5 and 0 <= answer.chi2_probability <= 1
    assert "FX.CHF" not in answer.moves["factor"].to_list()  # the market has no CHF


def test_the_scenario_file_reproduces_the_loss(answer: stress.ReverseStress,
                                               tmp_path: Path) -> None:
    path = tmp_path / "reverse.toml"
    path.write_text(answer.to_toml())
    again = stress.run(BOOK, MARKET, str(path)).summary["pnl"][0]
    assert again == pytest.approx(answer.pnl, rel=1e-12)


def test_no_historical_move_of_the_same_loss_is_more_plausible(
        answer: stress.ReverseStress) -> None:
    """Each of the worst historical 10-day moves of the window, rescaled so that it loses the
    same amount by full revaluation, lies at least as far (Mahalanobis) as the reverse move."""
    cov = covariance(HISTORY, 10, WINDOW)
    S = cov.psd()
    avail = cov.available
    hist = shocks.historical(HISTORY, start=WINDOW[0], end=WINDOW[1], horizon=10)
    with pytest.warns(stress.StressWarning, match="moves the EUR curve, the GBP curve, gold, to"):
        pnl = stress.run(BOOK, MARKET, hist).summary["pnl"].to_numpy()  # no Bund/gilt history
    worst = np.argsort(pnl)[:5]
    moves = np.nan_to_num(HISTORY.space.moves(hist.select(worst))[:, avail])
    for x in moves:
        lo, hi = 0.0, 1.0
        while _loss_of(hi * x, avail) < 20e6:
            hi *= 2.0
        for _ in range(60):  # bisection on the scale: full revaluation is monotone here
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if _loss_of(mid * x, avail) < 20e6 else (lo, mid)
        assert _distance(hi * x, S) >= answer.distance * (1 - 1e-6)


def _loss_of(x: np.ndarray, avail: np.ndarray) -> float:
    full = np.full(len(avail), np.nan)
    full[avail] = x
    scen = HISTORY.space.scenarios(full[None, :], names=["x"])
    return -float(stress.run(BOOK, MARKET, scen).summary["pnl"][0])


def test_small_losses_follow_the_linear_answer() -> None:
    small = reverse(BOOK, MARKET, 1e4, window=WINDOW)
    assert small.distance == pytest.approx(small.linear_distance, rel=1e-3)


def test_unreachable_losses_and_books_without_exposure() -> None:
    cash = portfolios.load(pl.DataFrame({"position_id": ["yen"], "instrument": ["fx"],
                                         "currency": ["JPY"], "notional": [1e9]}))
    with pytest.raises(ReverseStressError, match="no move reaches a loss of 100,000,000"):
        reverse(cash, MARKET, 100e6, window=WINDOW)  # the position is worth ~6.3m
    dollars = portfolios.load(pl.DataFrame({"position_id": ["usd"], "instrument": ["fx"],
                                            "currency": ["USD"], "notional": [1e9]}))
    with pytest.raises(ReverseStressError, match="the book has no exposure to the history's"):
        reverse(dollars, MARKET, 1e6, window=WINDOW)
    with pytest.raises(ReverseStressError, match="expected a positive amount"):
        reverse(BOOK, MARKET, -5.0)
    # A factor the book is exposed to that stood still in the window: not "no exposure".
    days = pl.date_range(pl.date(2020, 1, 1), pl.date(2021, 12, 31), "1d", eager=True)
    still = shocks.History.load(pl.DataFrame({"date": days, "USD.10Y": [2.5] * len(days)}))
    with pytest.raises(ReverseStressError, match=r"the book is exposed to USD\.10Y, which did "
                                                 r"not move within 2020-01-01 \.\. 2021-12-31"):
        reverse(BOOK, MARKET, 5e6, history=still, window=("2020-01-01", "2021-12-31"))
    # A loss far beyond any market's reach starts the search at absurd moves: it still finds
    # the largest loss the direction reaches, and says the amounts in a readable form.
    with pytest.raises(ReverseStressError) as info:
        reverse(BOOK, MARKET, 1e300, window=WINDOW)
    message = str(info.value)
    assert message.startswith("no move reaches a loss of 1e+300: the largest loss along the "
                              "most plausible direction is ")
    assert float(message.rsplit(" ", 1)[1].replace(",", "")) > 1e6


@pytest.mark.parametrize("k", [1, 2, 5, 24, 80])
def test_chi2_survival_matches_scipy(k: int) -> None:
    sp = pytest.importorskip("scipy.stats")
    for x in (0.01, 0.5, k / 2, k, 2 * k + 3, 10 * k + 50):
        assert chi2_sf(x, k) == pytest.approx(sp.chi2.sf(x, k), rel=1e-10, abs=1e-300)
    assert chi2_sf(0.0, k) == 1.0


# --------------------------------------------------------------------------- the engine side


def test_market_history_keeps_what_the_market_prices() -> None:
    assert "FX.CHF" in shocks.default_history().factors
    assert "FX.CHF" not in HISTORY.factors
    assert {f.split(".")[0] for f in HISTORY.factors if "." in f} <= {"JPY", "USD", "FX"}


def test_predictive_toml_runs_on_the_bundled_market(tmp_path: Path) -> None:
    path = tmp_path / "predict.toml"
    path.write_text('[[scenario]]\nname = "jgb_40y_predicted"\n[scenario.rates.JPY]\n'
                    'tenors = ["30Y", "40Y"]\nbp = [80, 100]\n[scenario.predict]\n'
                    'window = ["2013-01-01", "2024-06-30"]\nhorizon = 10\n')
    res = stress.run(BOOK, MARKET, str(path))
    scen = res.scenarios
    assert "FX.CHF" not in scen.descriptions[0] and "CHF" not in scen.fx_currencies
    assert "inferred" in scen.descriptions[0]
    assert math.isfinite(res.summary["pnl"][0])
    # Shown as a run prices it (it was filled from the whole bundled history, CHF included,
    # and refused: the market has no CHF rate).
    assert main(["scenarios", str(path)]) == 0


def test_fill_unshocked_fills_what_a_scenario_leaves_at_zero() -> None:
    plain = stress.run(BOOK, MARKET, "jgb_meltdown_2026")
    filled = stress.run(BOOK, MARKET, "jgb_meltdown_2026", fill_unshocked=True)
    s = filled.scenarios
    assert s.fx_pct[0, s.fx_currencies.index("EUR")] != 0.0  # unshocked in the library
    assert s.fx_pct[0, s.fx_currencies.index("JPY")] == pytest.approx(-1.96)  # given: kept
    assert plain.summary["pnl"][0] != filled.summary["pnl"][0]


@pytest.mark.filterwarnings("always:no generated scenario moves:stress.StressWarning")
def test_generate_run_and_risk_through_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    hist = tmp_path / "hist.parquet"
    assert main(["scenarios", "generate", "historical", "--from", "2022-01-01", "--to",
                 "2022-12-31", "--horizon", "5", "--out", str(hist)]) == 0
    assert "scenarios to" in capsys.readouterr().err
    out_dir = tmp_path / "out"
    assert main(["run", "-s", str(hist), "--out", str(out_dir), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "VaR and expected shortfall over" in out and "Largest contributions" in out
    # The CLI logs the warning: the history has no Bund or gilt curve, no EUR or GBP FX after
    # 2021 and no gold after 2018.
    assert "no generated scenario moves the EUR curve, the GBP curve" in caplog.text
    risk = pl.read_parquet(out_dir / "risk.parquet")
    assert risk["level"].to_list() == [0.99, 0.975]
    comp = pl.read_parquet(out_dir / "risk_components.parquet")
    for a in (0.99, 0.975):
        part = comp.filter(pl.col("level") == a)
        assert part["component_es"].sum() == pytest.approx(part["es"][0], rel=1e-9)
    mc = tmp_path / "mc.parquet"
    assert main(["scenarios", "generate", "monte-carlo", "--n", "500", "--seed", "7",
                 "--out", str(mc)]) == 0
    assert len(shocks.load(str(mc))) == 500
    # The default window (the last five years) holds no gold price: said where a batch log
    # shows it, not only in each scenario's description.
    assert "warning: no scenario moves gold: the history has too few 10-day changes" in (
        capsys.readouterr().err
    )
    assert main(["scenarios", "generate", "monte-carlo", "--n", "5", "--from", "2013-04-01",
                 "--to", "2018-03-31", "--out", str(mc)]) == 0
    assert "warning" not in capsys.readouterr().err
    # --from defaults to five years before --to (its help), whatever the command.
    assert main(["scenarios", "generate", "historical", "--to", "2018-03-31", "--out",
                 str(hist)]) == 0
    ends = sorted(n.split("_")[1] for n in shocks.load(str(hist)).names)
    assert "2013-04-15" <= ends[0] <= "2013-04-20" and ends[-1] <= "2018-03-31"
    assert main(["scenarios", "generate", "monte-carlo", "--n", "5", "--to", "2018-03-31",
                 "--out", str(mc)]) == 0
    assert "the covariance of 2013-03-31 .. 2018-03-31" in shocks.load(str(mc)).descriptions[0]
    # Degrees of freedom mean Student-t draws: without --dist t they would be normal ones.
    assert main(["scenarios", "generate", "monte-carlo", "--n", "5", "--dof", "3", "--out",
                 str(tmp_path / "t.parquet")]) == 2
    assert "--dof 3: the degrees of freedom of Student-t draws; give --dist t with it" in (
        capsys.readouterr().err)
    assert not (tmp_path / "t.parquet").exists()
    assert main(["scenarios", "generate", "monte-carlo", "--n", "5", "--dist", "t", "--dof", "3",
                 "--to", "2018-03-31", "--out", str(tmp_path / "t.parquet")]) == 0
    assert "Student-t (3 degrees of freedom)" in shocks.load(str(tmp_path / "t.parquet")
                                                             ).descriptions[0]
    # a library run shows no risk panel unless asked
    assert main(["run", "-s", "jgb_2026"]) == 0
    assert "VaR" not in capsys.readouterr().out
    assert main(["run", "-s", "historical", "--risk", "0.9"]) == 0
    assert "90.0%" in capsys.readouterr().out


def test_reverse_through_the_command_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "rev"
    assert main(["reverse", "--loss", "20m", "--from", WINDOW[0], "--to", WINDOW[1],
                 "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "loss 20,000,000 USD" in out and "Factor moves" in out and "P&L by position" in out
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert abs(manifest["pnl"] + 20e6) <= 2e4
    assert main(["run", "-s", str(out_dir / "reverse.toml")]) == 0
    with pytest.raises(SystemExit):
        main(["reverse", "--loss", "lots"])
    assert "expected a positive amount like 50m" in capsys.readouterr().err
