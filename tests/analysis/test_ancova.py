"""Final-visit ANCOVA (sensitivity) and the protocol's robust-covariance option.

``final_visit_ancova`` is compared with statsmodels OLS on the same rows at 1e-10
relative (both solve the same least-squares problem in double precision; 1e-10 leaves
room for the different factorisations only). The plan wiring: ``[analysis.sensitivity]
ancova = true`` adds ``analysis = "ancova"`` rows naming the estimand they support, the
report shows them, and ``[analysis.parallel] vcov`` reaches the primary MMRM.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from efficacy.analysis import analyze
from efficacy.analysis.ancova import ANCOVA_COLUMNS, final_visit_ancova
from efficacy.analysis.data import model_data, split_by_endpoint
from efficacy.analysis.plan import resolve_plan
from efficacy.analysis.strategies import apply_strategies
from efficacy.errors import EfficacyError, ProtocolError
from efficacy.protocol import load_protocol

TOL = 1e-10


def _toy() -> pd.DataFrame:
    rng = np.random.default_rng(20261206)
    n = 120
    d = pd.DataFrame(
        {
            "subject_id": np.repeat(np.arange(n), 2),
            "visit": np.tile(["W4", "W12"], n),
            "arm": np.repeat(rng.choice(["VEH", "LOW", "HIGH"], n), 2),
            "baseline": np.repeat(rng.normal(40, 6, n), 2),
            "sex": np.repeat(rng.choice(["F", "M"], n), 2),
            "age": np.repeat(rng.normal(45, 10, n), 2),
        }
    )
    d["change"] = (
        0.2 * d["baseline"] + 1.5 * (d["arm"] == "HIGH") + 0.4 * (d["arm"] == "LOW")
    ) + rng.normal(0, 2, len(d))
    d.loc[[5, 17, 33], "change"] = np.nan  # W12 rows of three subjects
    d.loc[[41], "baseline"] = np.nan
    return d


def test_equals_statsmodels_ols() -> None:
    d = _toy()
    before = d.copy()
    res = final_visit_ancova(d, visit="W12", control="VEH", covariates=["sex", "age"])
    pd.testing.assert_frame_equal(d, before)  # input untouched
    assert list(res.columns) == list(ANCOVA_COLUMNS)
    w12 = d[d["visit"] == "W12"]
    ols = smf.ols("change ~ baseline + sex + age + C(arm, Treatment('VEH'))", data=w12).fit()
    ci = ols.conf_int(0.05)
    for r in res.itertuples(index=False):
        name = f"C(arm, Treatment('VEH'))[T.{r.active_arm}]"
        np.testing.assert_allclose(r.estimate, ols.params[name], rtol=TOL)
        np.testing.assert_allclose(r.std_error, ols.bse[name], rtol=TOL)
        np.testing.assert_allclose(r.p_value, ols.pvalues[name], rtol=1e-8)
        np.testing.assert_allclose([r.conf_low, r.conf_high], ci.loc[name], rtol=TOL)
        assert r.df == ols.df_resid
    assert list(res["comparison"]) == ["HIGH vs VEH", "LOW vs VEH"]
    assert int(res["n_excluded"].iloc[0]) == 4  # 3 missing W12 changes + 1 baseline
    assert int(res["n_active"].sum() + res["n_control"].iloc[0]) == ols.nobs


def test_without_baseline_is_the_two_sample_t() -> None:
    d = _toy()
    res = final_visit_ancova(d[d["arm"] != "LOW"], visit="W12", control="VEH", baseline=None).iloc[
        0
    ]
    w = d[(d["visit"] == "W12") & (d["arm"] != "LOW")].dropna(subset=["change"])
    a, c = w.loc[w["arm"] == "HIGH", "change"], w.loc[w["arm"] == "VEH", "change"]
    pooled = ((a.var() * (a.size - 1)) + c.var() * (c.size - 1)) / (a.size + c.size - 2)
    np.testing.assert_allclose(res["estimate"], a.mean() - c.mean(), rtol=TOL)
    np.testing.assert_allclose(res["std_error"], np.sqrt(pooled * (1 / a.size + 1 / c.size)))


def test_bad_input_one_line() -> None:
    d = _toy()
    with pytest.raises(EfficacyError, match=r"no column\(s\) \['bmi'\]"):
        final_visit_ancova(d, visit="W12", control="VEH", covariates=["bmi"])
    with pytest.raises(EfficacyError, match="control arm 'PBO' has no analysed row"):
        final_visit_ancova(d, visit="W12", control="PBO")


def _protocol(samples, **sens):
    p = samples.protocol
    a = p.analysis
    a2 = dataclasses.replace(
        a,
        key_secondary=(),
        secondary=(),
        populations=("itt",),
        responders=(),
        parallel=dataclasses.replace(a.parallel, vcov="empirical", df="satterthwaite"),
        sensitivity=dataclasses.replace(a.sensitivity, tipping_point=False, **sens),
        subgroups=dataclasses.replace(a.subgroups, by=()),
    )
    return dataclasses.replace(p, analysis=a2)


def test_plan_runs_the_declared_ancova(samples) -> None:
    trial = samples.trial("parallel_12wk")
    protocol = _protocol(samples, ancova=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyze(trial, protocol)
    est = result.to_frame()
    anc = est[est["analysis"] == "ancova"]
    assert len(anc) == 1
    row = anc.iloc[0]
    assert (row["endpoint"], row["visit"], row["estimand"]) == ("cutometer_r2", "W12", "primary")
    assert result.primary()["analysis"] == "mmrm"  # the ANCOVA row supports, never replaces
    # the same rows as the MMRM (estimand strategies applied), by statsmodels
    plan = resolve_plan(trial, protocol)
    data = model_data(
        trial, split_by_endpoint(result.scored.endpoints), "cutometer_r2", "itt", plan
    )
    data, _ = apply_strategies(
        data,
        result.intercurrent,
        plan.settings.estimand_of("cutometer_r2"),
        trial.manifest.visit_order,
    )
    w = data.frame[data.frame["visit"] == "W12"].dropna(subset=["change", "baseline"])
    w = w.assign(arm=w["arm"].astype(str))
    ols = smf.ols(f"change ~ baseline + C(arm, Treatment('{plan.control}'))", data=w).fit()
    name = f"C(arm, Treatment('{plan.control}'))[T.{row['active_arm']}]"
    np.testing.assert_allclose(row["estimate"], ols.params[name], rtol=TOL)
    np.testing.assert_allclose(row["std_error"], ols.bse[name], rtol=TOL)
    # the primary MMRM used the protocol's vcov
    fit = result.fits[("cutometer_r2", "itt")]
    assert (fit.vcov, fit.df_method) == ("empirical", "satterthwaite")
    assert "empirical covariance" in result.primary()["model"]
    # the report's efficacy section shows the ANCOVA beside its estimand
    from efficacy.report.outcomes import outcome_sections

    sections = outcome_sections(result, trial, protocol)
    shown = sections["efficacy"]["result"]["ancova"]
    assert [r["estimand"] for r in shown] == ["primary"]
    assert not [
        r for r in sections["efficacy"]["result"]["responders"] if r["analysis"] == "ancova"
    ]
    from efficacy.report._adapt_outcomes import efficacy as efficacy_blocks
    from efficacy.report._blocks import Heading, Table

    blocks = efficacy_blocks(sections)
    heads = [b.text for b in blocks if isinstance(b, Heading)]
    assert any(h.endswith("Sensitivity analysis: ANCOVA at the final visit") for h in heads)
    (table,) = [b.shell for b in blocks if isinstance(b, Table) and b.shell.id == "efficacy.ancova"]
    assert table.rows[0].cells[7] == "primary"


def test_protocol_vcov_and_ancova_options(tmp_path) -> None:
    path = tmp_path / "robust.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis.parallel]\nvcov = "empirical-bias-reduced"\n'
        'df = "satterthwaite"\n[analysis.sensitivity]\nancova = true\n',
        encoding="utf-8",
    )
    plan = load_protocol(path).analysis
    assert plan is not None
    assert (plan.parallel.vcov, plan.parallel.df, plan.sensitivity.ancova) == (
        "empirical-bias-reduced",
        "satterthwaite",
        True,
    )
    default = load_protocol("iso-efficacy-2025").analysis
    assert default is not None
    assert (default.parallel.vcov, default.sensitivity.ancova) == ("model-based", False)
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis.parallel]\nvcov = "empirical"\n', encoding="utf-8"
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    msgs = [m for m in str(info.value).splitlines() if "vcov" in m]
    assert len(msgs) == 1 and "df = 'satterthwaite', 'residual' or 'between-within'" in msgs[0]
