"""`t_sf` / `t_ppf` equal ``scipy.stats.t.sf`` / ``.ppf`` bit for bit, edges included."""

from __future__ import annotations

import numpy as np
from scipy import stats

from efficacy.mmrm.inference import t_ppf, t_sf

_EDGE_DF = [np.nan, -np.inf, -1.0, 0.0, -0.0, 1e-300, 1e-8, 0.3, 0.5, 0.999, 1.0, 1.5, 2.0]
_EDGE_DF += [3.0, 5.0, 29.7, 100.0, 1e3, 1e6, 1e12, 1e300, np.inf]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values with equal sign bits (so -0.0 != 0.0), nan where the other is nan."""
    a, b = np.asarray(a), np.asarray(b)
    return bool(np.all(((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b))))


def _dfs() -> np.ndarray:
    rng = np.random.default_rng(20261206)
    return np.concatenate(
        [_EDGE_DF, rng.uniform(0.01, 200.0, 200), np.exp(rng.uniform(-5.0, 30.0, 100))]
    )


def test_t_sf_is_scipy_stats_t_sf_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    xs = np.concatenate(
        [
            [np.nan, -np.inf, np.inf, 0.0, -0.0, 5e-324, 1e-300, 1e-8, 0.5, 1.0, 2.0, 40.0],
            [1e10, 1e300, -1.0, -1e300],
            rng.normal(0.0, 3.0, 100),
            np.exp(rng.uniform(-20.0, 6.0, 100)),
        ]
    )
    x, df = np.meshgrid(xs, _dfs())
    with np.errstate(all="ignore"):
        assert _same(t_sf(x, df), stats.t.sf(x, df))
        for xi, di in [(2.0, 10.0), (0.0, 3.0), (np.inf, 4.0), (1.0, 0.0), (1.0, np.inf)]:
            got, want = t_sf(xi, di), stats.t.sf(xi, di)
            assert type(got) is type(want) and _same(got, want)


def test_t_ppf_is_scipy_stats_t_ppf_bit_for_bit() -> None:
    rng = np.random.default_rng(11)
    qs = np.concatenate(
        [
            [np.nan, -0.1, 0.0, 1e-300, 0.5, 0.9, 0.95, 0.975, 0.995, 1 - 1e-16, 1.0, 1.2],
            [np.inf],
            rng.uniform(0.0, 1.0, 100),
            0.5 + rng.uniform(0.0, 0.5, 100),
        ]
    )
    q, df = np.meshgrid(qs, _dfs())
    with np.errstate(all="ignore"):
        assert _same(t_ppf(q, df), stats.t.ppf(q, df))
        assert t_ppf(0.0, 3.0) == -np.inf  # where scipy.special.stdtrit alone gives +inf
        for qi, di in [(0.975, 10.0), (0.0, 3.0), (0.0, -1.0), (1.0, 2.0), (0.975, np.inf)]:
            got, want = t_ppf(qi, di), stats.t.ppf(qi, di)
            assert type(got) is type(want) and _same(got, want)
        vec = t_ppf(np.array([0.0, 0.975]), 5.0)  # array in, array out
        assert isinstance(vec, np.ndarray) and _same(vec, stats.t.ppf([0.0, 0.975], 5.0))
