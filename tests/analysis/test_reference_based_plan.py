"""The analysis plan runs the protocol's reference-based sensitivity analyses (issue 13).

Pinned here:

* ``[[analysis.sensitivity.reference_based]]`` parses into typed specs (defaults: the
  primary endpoint, ITT, JR for every event, conditional mean + jackknife, the
  sensitivity seed) and every misuse is a one-line ProtocolError naming the key;
* on the parallel sample trial cut to 40 participants, each reference-based row of
  ``analyze`` equals a direct :func:`efficacy.reference_based` call on the same data
  (exactly: same model frame, events placed at the first visit they affect, the
  imputation model ``change ~ baseline * visit + arm * visit``, ANCOVA on baseline), and
  its LS means are on the result;
* a 4-participant trial: the reference-based analysis is skipped with the reason, the
  MMRM still runs;
* the report's sections show the result's numbers (never recomputed) and each estimand
  lists the sensitivity analyses that support it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import efficacy
from efficacy.analysis import analyze
from efficacy.analysis.data import model_data, split_by_endpoint
from efficacy.analysis.intercurrent import intercurrent_events
from efficacy.analysis.plan import resolve_plan
from efficacy.analysis.result import ANALYSES
from efficacy.errors import ProtocolError
from efficacy.protocol import load_protocol
from efficacy.protocol.analysis_params import AnalysisPlan
from efficacy.report._format import fixed
from efficacy.report.estimands import estimands_section
from efficacy.report.reference_based import reference_based_section
from tests.analysis.small_trials import SAMPLES, cut_bundle

_PLAN = (
    'extends = "iso-efficacy-2025"\n[analysis]\nkey_secondary = []\nsecondary = []\n'
    'populations = ["itt"]\n[analysis.subgroups]\nby = []\n[analysis.sensitivity]\n'
    "tipping_point = false\n[[analysis.sensitivity.reference_based]]\n"
    '[[analysis.sensitivity.reference_based]]\nstrategy = "CIR"\n'
    'method = "approximate-bayes"\nn_samples = 4\nseed = 7\n'
)


def _analyze(trial: efficacy.Trial, protocol: object) -> efficacy.AnalysisResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(trial, protocol)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run40(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, ...]:
    root = tmp_path_factory.mktemp("rb")
    cut_bundle(SAMPLES / "parallel_12wk", root / "p40", 40)
    (root / "plan.toml").write_text(_PLAN, encoding="utf-8")
    protocol = load_protocol(root / "plan.toml")
    trial = efficacy.read_trial(root / "p40")
    return trial, protocol, _analyze(trial, protocol)


def _sections(plan: dict) -> AnalysisPlan:
    return AnalysisPlan.from_mapping(plan)


def _base() -> dict:
    return load_protocol("iso-efficacy-2025").analysis.to_dict()  # type: ignore[union-attr]


def _with(*tables: dict) -> dict:
    plan = _base()
    plan["sensitivity"]["reference_based"] = list(tables)
    return plan


def test_defaults_and_round_trip() -> None:
    plan = _sections(_with({}, {"method": "approximate-bayes", "strategy": "CR"}))
    jack, bayes = plan.sensitivity.reference_based
    assert (jack.endpoint, jack.population, jack.strategy) == ("cutometer_r2", "itt", "JR")
    assert (jack.method, jack.resampling, jack.n_samples, jack.seed) == (
        "conditional-mean",
        "jackknife",
        None,
        20250101,
    )
    assert (bayes.resampling, bayes.n_samples) == ("bootstrap", 20)  # rbmi's default
    assert jack.label == "JR; conditional mean, jackknife"
    assert bayes.label == "CR; approximate Bayes, 20 imputations"
    assert AnalysisPlan.from_mapping(plan.to_dict()) == plan
    spec = _sections(_with({"strategies": {"rescue_treatment": "CR"}})).sensitivity
    only = spec.reference_based[0]
    assert only.strategy_of("rescue_treatment") == "CR"
    assert only.strategy_of("discontinued_product") == "JR"
    # the built-in plan declares none (the jackknife costs ~1 s per analysis)
    assert load_protocol("iso-efficacy-2025").analysis.sensitivity.reference_based == ()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"resampling": "bootstrap"},
            "[analysis.sensitivity.reference_based] #1 resampling 'bootstrap' needs "
            "'n_samples' (e.g. 200)",
        ),
        (
            {"n_samples": 50},
            "[analysis.sensitivity.reference_based] #1 'n_samples' is not used by the "
            "jackknife (one fit per subject)",
        ),
        (
            {"strategy": "J2R"},
            "[analysis.sensitivity.reference_based] #1 'strategy' = 'J2R' is not one of "
            "MAR, JR, CR, CIR, LMCF",
        ),
        (
            {"method": "approximate-bayes", "resampling": "jackknife"},
            "[analysis.sensitivity.reference_based] #1 'resampling' applies to method "
            "'conditional-mean' only; remove it",
        ),
        (
            {"endpoint": "corneometer_x"},
            "[analysis.sensitivity.reference_based] #1 endpoint = 'corneometer_x' is not an "
            "endpoint of the plan; use the primary, a key secondary or a secondary endpoint",
        ),
        (
            {"strategies": {"discontinued_product": "hypothetical"}},
            "[analysis.sensitivity.reference_based] #1 'strategies' has strategies "
            "['hypothetical']; allowed: MAR, JR, CR, CIR, LMCF",
        ),
        (
            {"seed": -1},
            "[analysis.sensitivity.reference_based] #1 'seed' must be an integer >= 0",
        ),
        (
            {"delta": 1},
            "[analysis.sensitivity.reference_based] #1 'delta' is unknown; known: endpoint, "
            "method, population, resampling, strategy",
        ),
    ],
)
def test_parse_errors_are_one_line(table: dict, message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        _sections(_with(table))
    assert list(info.value.problems) == [message]
    assert "\n" not in message


def test_population_repeat_and_tipping_options() -> None:
    plan = _with({"population": "per_protocol"})
    plan["populations"] = ["itt"]
    with pytest.raises(ProtocolError) as info:
        _sections(plan)
    assert list(info.value.problems) == [
        "[analysis.sensitivity.reference_based] #1 population = 'per_protocol' is not one of "
        "the plan's populations (itt)"
    ]
    with pytest.raises(ProtocolError) as info:
        _sections(_with({}, {"endpoint": "cutometer_r2"}))
    assert list(info.value.problems) == [
        "[analysis.sensitivity.reference_based] #2 repeats #1; declare each analysis once"
    ]
    plan = _base()
    plan["sensitivity"] |= {"imputation": "J2R", "scale": "multiplicative"}
    sens = _sections(plan).sensitivity
    assert (sens.imputation, sens.scale) == ("J2R", "multiplicative")
    plan["sensitivity"]["imputation"] = "CR"
    with pytest.raises(ProtocolError) as info:
        _sections(plan)
    assert list(info.value.problems) == [
        "[analysis.sensitivity] 'imputation' = 'CR' is not one of MAR, J2R"
    ]


def _direct(
    trial: efficacy.Trial, protocol: object, spec: object, derived: pd.DataFrame
) -> pd.DataFrame:
    """The same analysis called by hand: the MMRM's model frame, events, rbmi's model."""
    plan = resolve_plan(trial, protocol)  # type: ignore[arg-type]
    frame = model_data(trial, split_by_endpoint(derived), plan.primary, "itt", plan).frame
    visits = list(frame["visit"].cat.categories)
    ice = intercurrent_events(trial)
    ice = ice.loc[ice["subject_id"].isin(set(frame["subject_id"])) & ice["visit"].isin(visits)]
    events = ice[["subject_id", "visit"]].assign(strategy=spec.strategy)  # type: ignore[attr-defined]
    return efficacy.reference_based(
        frame,
        "change ~ baseline * visit + arm * visit",
        subject="subject_id",
        visit="visit",
        group="arm",
        events=events,
        references={"ACTIVE": "VEHICLE", "VEHICLE": "VEHICLE"},
        method=spec.method,  # type: ignore[attr-defined]
        resampling=spec.resampling,  # type: ignore[attr-defined]
        n_samples=spec.n_samples,  # type: ignore[attr-defined]
        seed=spec.seed,  # type: ignore[attr-defined]
        analysis_covariates=["baseline"],
    ).to_frame()


def test_plan_rows_equal_direct_call(run40: tuple) -> None:
    trial, protocol, result = run40
    assert result.skipped.empty
    assert len(result.reference_based) == 2
    est = result.to_frame()
    assert set(est["analysis"]) == {"mmrm", "reference_based"} <= set(ANALYSES)
    for a in result.reference_based:
        direct = _direct(trial, protocol, a.spec, result.scored.endpoints)
        pd.testing.assert_frame_equal(a.result.to_frame(), direct, check_exact=True)
        rows = est.loc[
            (est["analysis"] == "reference_based")
            & (est["model"].str.contains(a.spec.label, regex=False))
        ]
        diff = direct.loc[direct["parameter"] == "difference"]
        assert list(rows["visit"]) == list(diff["visit"]) == ["W2", "W4", "W8", "W12"]
        for col in ("estimate", "std_error", "df", "conf_low", "conf_high", "p_value"):
            assert np.array_equal(rows[col].to_numpy(float), diff[col].to_numpy(float))
        assert list(rows["estimand"]) == ["", "", "", "primary"]
        assert set(rows["comparison"]) == {"ACTIVE vs VEHICLE"}
        # every participant of the MMRM is analysed (missing values imputed)
        assert set(rows["n_active"] + rows["n_control"]) == {40}
    jack, bayes = result.reference_based
    assert "conditional mean imputation, jackknife (40 leave-one-out fits)" in jack.notes[0]
    assert bayes.notes[0] == (
        "reference-based sensitivity: approximate Bayesian MI, 4 imputations (seed 7), "
        "Rubin's rules"
    )
    assert jack.notes[1] == "strategies: discontinued_product: JR (4 participants)"
    # the primary estimand's own row is still the MMRM's
    assert result.primary()["analysis"] == "mmrm"
    lsm = result.reference_based_frame()
    assert len(lsm) == 2 * 4 * 3 and set(lsm["parameter"]) == {"difference", "lsmean"}
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["reference_based"][0]["table"][9]["estimate"] == lsm["estimate"].iloc[9]
    assert "[reference-based MI (CIR; approximate Bayes, 4 imputations)" in result.summary()


def test_tiny_trial_is_skipped_with_reason(tmp_path: Path) -> None:
    cut_bundle(SAMPLES / "parallel_12wk", tmp_path / "p4", 4)
    (tmp_path / "plan.toml").write_text(_PLAN, encoding="utf-8")
    result = _analyze(efficacy.read_trial(tmp_path / "p4"), str(tmp_path / "plan.toml"))
    assert not result.reference_based
    skipped = result.skipped.set_index("analysis")["reason"]
    assert skipped["reference-based (JR; conditional mean, jackknife)"] == (
        "not estimable: ModelSpecError: ar1h covariance has 5 parameters but only 3 residual "
        "observations; use a simpler structure"
    )
    assert list(result.to_frame()["analysis"].unique()) == ["mmrm"]  # the plan went on


def test_report_shows_the_result(run40: tuple) -> None:
    trial, protocol, result = run40
    section = reference_based_section(result)
    assert section["status"] == "run"
    d = section["decimals"]
    (table,) = section["tables"]
    mmrm = result.primary()
    rb = [a.rows[-1] for a in result.reference_based]
    assert table["rows"][0][0] == "Primary: MMRM (missing at random)"
    assert (
        table["rows"][0][3] == f"{fixed(mmrm['estimate'], d)} ({fixed(mmrm['std_error'], d + 1)})"
    )
    for row, r in zip(table["rows"][1:], rb, strict=True):
        assert row[3] == f"{fixed(r['estimate'], d)} ({fixed(r['std_error'], d + 1)})"
        assert row[4] == f"{fixed(r['conf_low'], d)}, {fixed(r['conf_high'], d)}"
    assert [r[0] for r in table["rows"][1:]] == [
        "Reference-based MI: JR; conditional mean, jackknife",
        "Reference-based MI: CIR; approximate Bayes, 4 imputations",
    ]
    est = estimands_section(trial, protocol, result)
    (primary,) = est["estimands"]
    assert primary["sensitivity"] == [
        "Reference-based multiple imputation (JR; conditional mean, jackknife); ITT, "
        "ACTIVE vs VEHICLE",
        "Reference-based multiple imputation (CIR; approximate Bayes, 4 imputations); ITT, "
        "ACTIVE vs VEHICLE",
    ]
    assert est["tables"][0]["rows"][-1][0] == "Sensitivity analyses"
