"""Tiny trials and computation failures: never a crash, a reason instead (issue 11).

Bundles are sample_data trials cut to a few subjects (tests/analysis/small_trials.py,
which keeps them valid). Pinned here:

* Hedges' g: the closed form where it is defined (checked by hand and against
  pingouin), NaN with the reason where its small-sample correction is not (two
  within-subject differences: ``J(m)`` needs ``m = n - 1 >= 2``);
* one endpoint whose computation fails is listed in ``skipped`` with the exception type
  and message, and every other number of the result is unchanged; programming errors
  still propagate;
* the report of a 2-subject split-face trial is written (HTML and JSON).
"""

from __future__ import annotations

import html
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import efficacy
from efficacy.analysis import analyze, guard
from efficacy.analysis import responders as responders_mod
from efficacy.analysis import run as run_mod
from efficacy.analysis.stats import hedges_g
from efficacy.errors import ModelSpecError
from tests.analysis.small_trials import SAMPLES, cut_bundle
from tests.statsmodels_ref import multipletests

NOT_ESTIMABLE_2 = (
    "effect size (Hedges' g) not estimable: its small-sample correction needs at least 2 "
    "degrees of freedom (3 within-subject differences), 2 give 1"
)


def _analyze(trial, protocol=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(trial, protocol)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("small")
    out = {}
    for name, source, n in (
        ("split2", "split_face_12wk", 2),
        ("split3", "split_face_12wk", 3),
        ("par16", "parallel_12wk", 16),
    ):
        cut_bundle(SAMPLES / source, root / name, n)
        out[name] = root / name
    protocol = root / "responders.toml"
    protocol.write_text(
        'extends = "iso-efficacy-2025"\n[[analysis.responders]]\nendpoint = "corneometer"\n'
        'kind = "percent"\nthreshold = 10\nlogistic = true\n',
        encoding="utf-8",
    )
    out["protocol"] = protocol
    return out


@pytest.fixture(scope="module")
def split2(bundles):
    """The two-subject split-face trial and its analysis under the default protocol."""
    trial = efficacy.read_trial(bundles["split2"])
    return trial, _analyze(trial)


@pytest.fixture(scope="module")
def par16(bundles):
    trial = efficacy.read_trial(bundles["par16"])
    return trial, _analyze(trial, bundles["protocol"])


# ------------------------------------------------------------------------- Hedges' g


def test_one_sample_g_closed_form_at_three_values() -> None:
    # d_z = mean / sd; J(m) = G(m/2) / (sqrt(m/2) G((m-1)/2)); m = n - 1 = 2 gives
    # J(2) = G(1) / (1 * G(1/2)) = 1 / sqrt(pi). x = (1, 2, 4): mean 7/3, sd sqrt(7/3),
    # so g = sqrt(7/3) / sqrt(pi); interval g +- z sqrt(1/n + g^2 / (2n)).
    g, low, high, note = hedges_g(np.array([1.0, 2.0, 4.0]), None, 0.95)
    expected = math.sqrt(7 / 3) / math.sqrt(math.pi)
    assert g == pytest.approx(expected, rel=1e-12)
    assert g == pytest.approx(0.8618138, abs=1e-7)
    half = stats.norm.ppf(0.975) * math.sqrt(1 / 3 + expected**2 / 6)
    assert (low, high) == pytest.approx((expected - half, expected + half), rel=1e-12)
    assert note == "one-sample Hedges' g of the within-subject differences"


def test_one_sample_g_not_estimable_below_two_df() -> None:
    assert hedges_g(np.array([0.4, 1.0]), None, 0.95)[3] == NOT_ESTIMABLE_2
    for x in ([0.4, 1.0], [0.4], [], [0.4, np.nan, 1.0]):
        g, low, high, note = hedges_g(np.array(x, float), None, 0.95)
        assert math.isnan(g) and math.isnan(low) and math.isnan(high)
        assert note.startswith("effect size (Hedges' g) not estimable: ")
    g, _, _, note = hedges_g(np.array([2.0, 2.0, 2.0]), None, 0.95)
    assert math.isnan(g) and note.endswith("the within-subject differences do not vary (sd 0)")


def test_two_sample_g_with_two_per_group_by_hand() -> None:
    # pooled sd = sqrt(((2-1) 2 + (2-1) 0.5) / 2) = sqrt(1.25); d = (2 - 0.5) / sqrt(1.25);
    # Hedges' correction 1 - 3 / (4 (nx + ny) - 9) = 4 / 7; the interval's half-width is
    # t(2 df, 0.975) sqrt((nx + ny) / (nx ny) + g^2 / (2 (nx + ny))), where the t quantile
    # with 2 df has the closed form (2p - 1) / sqrt(2 p (1 - p))
    x, y = np.array([1.0, 3.0]), np.array([0.0, 1.0])
    g, low, high, note = hedges_g(x, y, 0.95)
    expected = 1.5 / math.sqrt(1.25) * 4 / 7
    assert g == pytest.approx(expected, rel=1e-15)
    half = 0.95 / math.sqrt(2 * 0.975 * 0.025) * math.sqrt(4 / 4 + expected**2 / 8)
    assert (low, high) == pytest.approx((expected - half, expected + half), rel=1e-13)
    assert note == "two-sample Hedges' g of the observed changes"
    g, _, _, note = hedges_g(np.array([1.0]), y, 0.95)
    assert math.isnan(g) and note.endswith("1 and 2 values; at least 2 per group needed")


def test_two_sample_g_equals_pingouin() -> None:
    """g and its interval are pingouin's (``compute_effsize`` / ``compute_esci``, eftype
    "hedges"; the reference the formulas were taken from): g to the last bit, the interval
    to rounding (pingouin rounds it; asked for 20 decimals here, it does not)."""
    import pingouin as pg  # here, not at collection: 0.8 s of imports

    rng = np.random.default_rng(10)
    for nx, ny, level in ((2, 2, 0.95), (3, 17, 0.9), (40, 38, 0.95), (11, 5, 0.99)):
        x, y = rng.normal(1.0, 2.0, nx), rng.normal(0.0, 1.5, ny)
        g, low, high, _ = hedges_g(x, y, level)
        assert g == float(pg.compute_effsize(x, y, paired=False, eftype="hedges"))
        ci = pg.compute_esci(g, nx, ny, eftype="hedges", confidence=level, decimals=20)
        assert (low, high) == pytest.approx((float(ci[0]), float(ci[1])), rel=1e-14, abs=1e-15)


def _final_differences(trial, endpoint: str) -> np.ndarray:
    from efficacy.analysis.data import model_data, split_by_endpoint
    from efficacy.analysis.plan import resolve_plan
    from efficacy.instruments import score_trial

    plan = resolve_plan(trial, efficacy.load_protocol("iso-efficacy-2025"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        derived = split_by_endpoint(score_trial(trial).endpoints)
    f = model_data(trial, derived, endpoint, "itt", plan).frame
    return f.loc[(f["visit"] == plan.final_visit) & f["change"].notna(), "change"].to_numpy(float)


def test_split_face_two_subjects_g_not_estimable(split2) -> None:
    _, res = split2  # analyze() was: ValueError (math domain error) from lgamma(0)
    assert res.status == "analysed"
    eff = res.effect_sizes
    assert len(eff) > 0
    assert eff["hedges_g"].isna().all() and eff["conf_low"].isna().all()
    assert set(eff["method"]) == {NOT_ESTIMABLE_2}
    assert set(eff["n_active"]) == {2}
    est = res.estimates
    final = est.loc[(est["visit"] == "W12") & est["model"].str.contains("MMRM", regex=False)]
    assert len(final) == len(eff) and final["effect_size"].isna().all()
    assert final["estimate"].notna().all()
    assert (
        final["notes"].str.contains(NOT_ESTIMABLE_2 + " (observed cases at W12)", regex=False).all()
    )


def test_split_face_three_subjects_g_by_hand(bundles) -> None:
    trial = efficacy.read_trial(bundles["split3"])
    res = _analyze(trial)
    eff = res.effect_sizes.set_index(["endpoint", "population"])
    assert len(eff) == 16 and eff["hedges_g"].notna().all()
    x = _final_differences(trial, "cutometer_r2")
    assert x.size == 3
    expected = np.mean(x) / np.std(x, ddof=1) / math.sqrt(math.pi)  # J(2) = 1 / sqrt(pi)
    assert eff.loc[("cutometer_r2", "itt"), "hedges_g"] == pytest.approx(expected, rel=1e-12)
    assert eff.loc[("cutometer_r2", "itt"), "hedges_g"] == pytest.approx(1.152215, abs=1e-6)


def test_split_face_two_subjects_report_is_written(split2, tmp_path) -> None:
    from efficacy.report import build_report

    trial, result = split2  # run_analysis(trial, "iso-efficacy-2025"): the same analysis
    protocol = efficacy.load_protocol("iso-efficacy-2025")
    report = build_report(trial, protocol, analysis=result)
    written = report.write(tmp_path, formats=("html", "json"))
    assert sorted(written) == ["html", "json"]
    page = written["html"].read_text(encoding="utf-8")
    assert NOT_ESTIMABLE_2 in html.unescape(page)
    doc = json.loads(written["json"].read_text(encoding="utf-8"))
    assert NOT_ESTIMABLE_2 in json.dumps(doc, ensure_ascii=False)


# --------------------------------------------------------------- the failure boundary


def _fail_fit_of(monkeypatch, endpoint: str, exc: BaseException) -> None:
    """Make the MMRM fit of `endpoint` (both populations) raise `exc`."""
    current: list[str] = []
    real_data, real_fit = run_mod.model_data, run_mod.fit_endpoint

    def model_data(trial, derived, ep, pop, plan):
        current[:] = [ep]
        return real_data(trial, derived, ep, pop, plan)

    def fit_endpoint(data, plan):
        if current == [endpoint]:
            raise exc
        return real_fit(data, plan)

    monkeypatch.setattr(run_mod, "model_data", model_data)
    monkeypatch.setattr(run_mod, "fit_endpoint", fit_endpoint)


def _without(frame: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    return frame.loc[frame["endpoint"] != endpoint].reset_index(drop=True)


def test_failed_endpoint_is_skipped_and_the_rest_unchanged(bundles, par16, monkeypatch) -> None:
    trial, base = par16
    assert base.status == "analysed" and base.skipped.empty
    _fail_fit_of(monkeypatch, "cutometer_r5", np.linalg.LinAlgError("Singular matrix"))
    res = _analyze(trial, bundles["protocol"])
    reason = "not estimable: LinAlgError: Singular matrix"
    assert res.skipped.values.tolist() == [
        ["cutometer_r5", "itt", "MMRM", reason],
        ["cutometer_r5", "per_protocol", "MMRM", reason],
    ]
    # nothing of the failed endpoint is kept; every other number is unchanged
    for name in ("estimates", "lsmeans", "effect_sizes", "models"):
        got, want = getattr(res, name), _without(getattr(base, name), "cutometer_r5")
        assert "cutometer_r5" not in set(got["endpoint"])
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_exact=True)
    assert set(res.fits) == set(base.fits) - {
        ("cutometer_r5", "itt"),
        ("cutometer_r5", "per_protocol"),
    }
    assert [t.endpoint for t in res.sensitivity] == [t.endpoint for t in base.sensitivity]


def test_failed_key_secondary_is_untested_in_the_family(bundles, par16, monkeypatch) -> None:
    trial, base = par16
    _fail_fit_of(monkeypatch, "wrinkle_rz", ZeroDivisionError("float division by zero"))
    res = _analyze(trial, bundles["protocol"])
    assert set(res.skipped["reason"]) == {
        "not estimable: ZeroDivisionError: float division by zero"
    }
    est = res.estimates.set_index(["endpoint", "population", "visit"])
    b = base.estimates.set_index(["endpoint", "population", "visit"])
    key = ("corneometer", "itt", "W12")
    # the primary is untouched; Holm now adjusts over the two tested key secondaries
    prim = ("cutometer_r2", "itt", "W12")
    assert est.loc[prim, "p_value"] == b.loc[prim, "p_value"]
    assert math.isnan(est.loc[prim, "p_adjusted"])  # the primary is in no family
    assert est.loc[key, "estimate"] == b.loc[key, "estimate"]
    fam = [
        est.loc[(e, "itt", "W12"), "p_value"]
        for e in ("corneometer", "faceq_satisfaction_facial_appearance")
    ]
    holm = multipletests(fam, method="holm")[1]
    assert est.loc[key, "p_adjusted"] == pytest.approx(holm[0], rel=1e-12)
    assert est.loc[key, "p_adjusted"] != pytest.approx(b.loc[key, "p_adjusted"])
    assert "holm across 2 key secondary endpoints" in est.loc[key, "notes"]


def test_failed_tipping_point_and_responder_are_skipped(bundles, par16, monkeypatch) -> None:
    trial, base = par16
    assert len(base.sensitivity) > 0

    def tipping(*_a, **_k):
        raise FloatingPointError("overflow encountered in exp")

    def responder(*_a, **_k):
        raise ValueError("math domain error")

    monkeypatch.setattr(run_mod, "tipping_point", tipping)
    monkeypatch.setattr(responders_mod, "_one", responder)
    res = _analyze(trial, bundles["protocol"])
    assert res.sensitivity == ()
    assert res.skipped.values.tolist() == [
        [
            "cutometer_r2",
            "itt",
            "tipping point",
            "not estimable: FloatingPointError: overflow encountered in exp",
        ],
        [
            "cutometer_r2",
            "per_protocol",
            "tipping point",
            "not estimable: FloatingPointError: overflow encountered in exp",
        ],
        ["corneometer", "itt", "responder", "not estimable: ValueError: math domain error"],
        [
            "corneometer",
            "per_protocol",
            "responder",
            "not estimable: ValueError: math domain error",
        ],
    ]
    model_rows = base.estimates["model"].str.contains("MMRM", regex=False)
    assert (~model_rows).sum() > 0  # the responder rows that are now skipped
    pd.testing.assert_frame_equal(
        res.estimates.reset_index(drop=True),
        base.estimates.loc[model_rows].reset_index(drop=True),
        check_exact=True,
    )


def test_programming_errors_are_not_hidden(bundles, par16, monkeypatch) -> None:
    trial, _ = par16
    _fail_fit_of(monkeypatch, "corneometer", TypeError("unsupported operand"))
    with pytest.raises(TypeError, match="unsupported operand"):
        _analyze(trial, bundles["protocol"])


def test_guard_reason_and_rollback() -> None:
    assert guard.guarded(lambda: 3) == (3, "")
    value, why = guard.guarded(lambda: math.log(-1))
    assert value is None and why == "not estimable: ValueError: math domain error"
    _, why = guard.guarded(lambda: (_ for _ in ()).throw(ModelSpecError("a\n  b")))
    assert why == "not estimable: ModelSpecError: a b"
    with pytest.raises(KeyError):
        guard.guarded(lambda: {}["x"])

    acc = run_mod._Acc()
    acc.skipped.append(("e", "itt", "MMRM", "kept"))

    def half_done(a) -> None:
        a.models.append({"endpoint": "x"})
        a.fits[("x", "itt")] = None
        raise np.linalg.LinAlgError("Singular matrix")

    assert guard.run_into(acc, half_done) == "not estimable: LinAlgError: Singular matrix"
    assert acc.models == [] and acc.fits == {} and acc.skipped == [("e", "itt", "MMRM", "kept")]
    assert guard.run_into(acc, lambda a: a.rows.append({"endpoint": "y"})) == ""
    assert acc.rows == [{"endpoint": "y"}]
