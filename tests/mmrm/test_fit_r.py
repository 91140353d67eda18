"""fit_mmrm against independent R reference values (tests/reference/mmrm/r/).

The references were produced by ``Rscript tests/reference/mmrm/r/make_reference.R``
(R 4.2.2, nlme 3.1-162, emmeans 1.8.4-1, numDeriv, pbkrtest 0.5.2; see
tests/reference/mmrm/r/README.md). Each case file ``cases/<id>.json`` holds one data set
x model x covariance structure x REML/ML fit made with ``refmmrm.R``, a direct
likelihood fitter converged to a Newton step below 1e-10, which reproduces the SAS -2LL
of every structure SAS listed for fev_data to 3.1e-9 relative and SAS's Kenward-Roger
values where SAS converged tightly (ar1, toeph, cs: 1e-6). Where nlme has the structure
(us, cs, csh, ar1, ar1h, toep, toeph) an independent ``nlme::gls`` fit, with emmeans
Satterthwaite df, is stored beside it and agrees (see test_reference_gls_agreement).

Data sets: fev_data; two seeded cosmetic (corneometer change from baseline) trials, 2
arms and 3 unbalanced arms, visits W2 < W4 < W8 < W12 (W12 sorts first as text, the
reference arm VEH is not alphabetically first, the 3-arm file has shuffled rows, absent
dropout rows, a subject with no observation); the first 200 subjects of bcva_data (10
visits).

Tolerances (brief of issue 3C): estimates and SEs 1e-4 relative with a 1e-5 absolute
floor, -2 log-likelihood 1e-6 relative, Satterthwaite / Kenward-Roger df 1e-3 relative,
covariance matrix 1e-3 relative (absolute floor 1e-5 of its largest element), F 1e-4.
The reference tests need no R; the schema tests also run without the engine.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
RDIR = ROOT / "tests" / "reference" / "mmrm" / "r"
INDEX = json.loads((RDIR / "index.json").read_text())
CASE_IDS = [c["id"] for c in INDEX["cases"]]
REML_IDS = [c["id"] for c in INDEX["cases"] if c["method"] == "reml"]
GLS_IDS = [c["id"] for c in INDEX["cases"] if c["has_gls"]]

REL, ABS = 1e-4, 1e-5  # estimates, SEs
LL_REL = 1e-6  # -2 log-likelihood
DF_REL = 1e-3  # Satterthwaite / Kenward-Roger df
COV_REL = 1e-3  # covariance matrix


# --------------------------------------------------------------------------- loading


@cache
def case(case_id: str) -> dict[str, Any]:
    return json.loads((RDIR / "cases" / f"{case_id}.json").read_text())


@cache
def _raw(file: str) -> pd.DataFrame:
    return pd.read_csv(ROOT / file)


def load_data(ref: dict[str, Any]) -> pd.DataFrame:
    """The case's data set with its factor levels (first level = reference).

    A fresh copy on every call; the levelled frame is built once per data set and levels
    (:func:`_levelled`): the ~100 cases share four data sets and are loaded ~400 times.
    """
    ds = ref["dataset"]
    levels = tuple((col, tuple(values)) for col, values in ds["levels"].items())
    return _levelled(ds["file"], levels).copy()


@cache
def _levelled(file: str, levels: tuple[tuple[str, tuple[str, ...]], ...]) -> pd.DataFrame:
    """`file` with each listed column a categorical of its levels (never handed out)."""
    df = _raw(file).copy()
    for col, values in levels:
        df[col] = pd.Categorical(df[col], categories=list(values))
    return df


def close(actual, expected, rel: float, abs_: float = 0.0) -> np.ndarray:
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    return np.abs(a - e) <= np.maximum(rel * np.abs(e), abs_)


def assert_close(actual, expected, rel: float, abs_: float = 0.0, what: str = "") -> None:
    ok = close(actual, expected, rel, abs_)
    if not ok.all():
        a = np.asarray(actual, dtype=float)
        e = np.asarray(expected, dtype=float)
        bad = np.flatnonzero(~ok.ravel())
        lines = [f"[{i}] ours {a.ravel()[i]!r} R {e.ravel()[i]!r}" for i in bad[:8]]
        pytest.fail(f"{what}: {len(bad)} of {ok.size} outside tolerance\n" + "\n".join(lines))


# --------------------------------------------------------------------------- schema
# These tests check the committed reference files themselves (no engine needed).


def test_index_lists_every_case_file() -> None:
    on_disk = sorted(p.stem for p in (RDIR / "cases").glob("*.json"))
    assert sorted(CASE_IDS) == on_disk
    assert len(CASE_IDS) >= 100
    covs = {case(i)["model"]["covariance"] for i in CASE_IDS}
    assert covs == {"us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "ad", "adh"}
    assert {case(i)["dataset"]["name"] for i in CASE_IDS} == {
        "fev",
        "cosmetic2",
        "cosmetic3",
        "bcva200",
    }


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_reference_file_is_complete(case_id: str) -> None:
    ref = case(case_id)
    for key in ("model", "meta", "r_call_direct", "convergence", "neg2loglik", "coefficients"):
        assert key in ref, key
    meta = ref["meta"]
    assert meta["r_version"].startswith("R version") and meta["date"]
    assert {"nlme", "emmeans", "numDeriv"} <= set(meta["packages"])
    # Gradient of -2LL (about 1e3 to 7e3 here) in the optimiser's log-scale parameters; with
    # Hessian entries of order 1e2-1e3 this leaves the parameters within ~1e-7 relative.
    assert ref["convergence"]["max_abs_gradient_theta"] < 1e-4
    coefs = pd.DataFrame(ref["coefficients"])
    assert list(coefs.columns[:4]) == ["term", "estimate", "std_error", "df"]
    assert np.isfinite(coefs[["estimate", "std_error", "df"]].to_numpy()).all()
    assert (coefs["std_error"] > 0).all() and (coefs["df"] > 1).all()
    mats = _ref_cov(ref)
    for mat in mats.values():
        assert np.allclose(mat, mat.T) and np.linalg.eigvalsh(mat).min() > 0
    if ref["model"]["method"] == "reml":
        kr = ref["kenward_roger"]
        for variant in ("kenward_roger", "kenward_roger_linear"):
            kc = pd.DataFrame(kr[variant]["coefficients"])
            assert list(kc["term"]) == list(coefs["term"])
            # For one contrast the KR df is the Satterthwaite df (Kenward & Roger 1997),
            # here computed by a different numerical route (psi derivatives of Sigma,
            # not the theta Jacobian of (X'V^-1X)^-1): both routes agree.
            assert_close(kc["df"], coefs["df"], 1e-5, what=f"{case_id} KR vs Sat df")


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_reference_matches_its_data_file(case_id: str) -> None:
    ref = case(case_id)
    ds = ref["dataset"]
    digest = hashlib.md5((ROOT / ds["file"]).read_bytes()).hexdigest()
    assert digest == ds["md5"], f"{ds['file']} changed: rerun make_reference.R"
    data = load_data(ref)
    model = ref["model"]
    lhs, rhs = (s.strip() for s in model["formula"].split("~"))
    cols = {lhs, model["subject"], model["visit"]}
    cols |= {t for t in rhs.replace("*", "+").replace(":", "+").split("+")} - {"1", ""}
    cols = {c.strip() for c in cols if c.strip()}
    for extra in (model.get("group"), model.get("weights")):
        if extra:
            cols.add(extra)
    used = data.dropna(subset=sorted(cols))
    assert len(used) == ds["n_obs"] and len(data) == ds["n_rows_file"]
    assert used[model["subject"]].nunique() == ds["n_subjects"]
    # LS means: numeric covariates at their mean over the analysed rows (emmeans, SAS).
    for name, value in (ref.get("lsmeans_covariate_means") or {}).items():
        assert used[name].mean() == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("case_id", GLS_IDS)
def test_reference_gls_agreement(case_id: str) -> None:
    """The direct R fit and the independent nlme::gls fit give the same numbers.

    gls's optimum is never better than the direct one by more than 1e-9 in -2LL; the
    df use emmeans' gradient of vcov(beta) with a Richardson Hessian of nlme's own
    log-likelihood (nlme's apVar, a finite-difference Hessian, is off by up to 19% for
    these df: stored as df_emmeans_apvar, not used).
    """
    ref = case(case_id)
    g = ref["gls"]
    ag = g["agreement_with_direct"]
    assert ag["neg2loglik_gls_minus_direct"] > -1e-7
    assert ag["neg2loglik_rel"] < LL_REL
    assert ag["estimate_tolerance_ratio"] < 1.0
    assert ag["std_error_max_rel"] < REL
    if g.get("covariance") is not None:
        assert ag["covariance_max_rel"] < COV_REL
    if "coefficient_df_max_rel" in ag:
        assert ag["coefficient_df_max_rel"] < DF_REL
    if "lsmean_df_max_rel" in ag:
        assert ag["lsmean_df_max_rel"] < DF_REL
        assert ag["contrast_df_max_rel"] < DF_REL
        assert ag["lsmean_estimate_tolerance_ratio"] < 1.0


def test_reference_validation_file() -> None:
    """pbkrtest and SAS agree with the reference machinery (validation.json)."""
    val = json.loads((RDIR / "validation.json").read_text())
    for chk in val["pbkrtest"]:
        assert chk["max_rel_se"] < 1e-6 and chk["max_rel_df"] < 1e-6, chk["formula"]
    for chk in val["df_two_routes"]:
        assert chk["max_rel"] < 1e-5, chk["case"]
    # SAS -2LL of every listed intercept-only structure (sas_reference.md section 4).
    for cid in CASE_IDS:
        sas = case(cid).get("sas")
        if sas and "neg2loglik_direct_minus_sas" in sas["direct_minus_sas"]:
            d = sas["direct_minus_sas"]["neg2loglik_direct_minus_sas"] / sas["values"]["m2ll"]
            # Equal to SAS within 1e-8 relative, and never worse than SAS's optimum.
            assert -1e-8 < d < 1e-12, cid


# --------------------------------------------------------------------------- engine


@cache
def _design_fits(case_id: str):
    """The case's data and formula as a `DesignFits` (equal to `fit_mmrm`, tested there).

    Its fits with other ``df`` reuse the optimisation (tests/mmrm/test_design_fits.py).
    """
    from efficacy.mmrm.fit import DesignFits

    ref = case(case_id)
    m = ref["model"]
    return DesignFits(
        load_data(ref),
        m["formula"],
        subject=m["subject"],
        visit=m["visit"],
        group=m.get("group"),
        weights=m.get("weights"),
    )


@cache
def fitted(case_id: str, df: str = "satterthwaite"):
    m = case(case_id)["model"]
    return _design_fits(case_id).fit(m["covariance"], method=m["method"], df=df)


def _ref_cov(ref: dict[str, Any]) -> dict[str, np.ndarray]:
    c = ref["covariance"]
    if "groups" in c:
        return {k: np.asarray(v["matrix"], dtype=float) for k, v in c["groups"].items()}
    return {"": np.asarray(c["matrix"], dtype=float)}


def _arm_by(ref: dict[str, Any]) -> tuple[str, str | None]:
    spec = ref["model"]["lsmeans_specs"].lstrip("~").split("|")
    arm = spec[0].strip()
    return arm, (spec[1].strip() if len(spec) > 1 else None)


def _keyed(rows: dict[str, Any] | pd.DataFrame, keys: list[str]) -> dict[tuple[str, ...], int]:
    """Row number of each key (the key columns as text); a repeated key fails."""
    columns = [[str(v) for v in rows[k]] for k in keys]
    index = {key: i for i, key in enumerate(zip(*columns, strict=True))}
    assert len(index) == len(columns[0]), f"repeated key in {keys}"
    return index


def _paired(
    ours: pd.DataFrame, theirs: dict[str, Any], keys: list[str], cols: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """`cols` of our rows and R's rows, aligned one to one on `keys` (compared as text).

    Both sides hold the same keys, each once (a one-to-one merge of all rows).
    """
    mine, ref = _keyed(ours, keys), _keyed(theirs, keys)
    assert mine.keys() == ref.keys(), f"rows differ: {sorted(mine.keys() ^ ref.keys())}"
    order_ref = [ref[key] for key in mine]
    ours_out = {c: ours[c].to_numpy(dtype=float) for c in cols}
    theirs_out = {c: np.asarray(theirs[c], dtype=float)[order_ref] for c in cols}
    return ours_out, theirs_out


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_fit_loglik_counts_and_covariance(case_id: str) -> None:
    ref = case(case_id)
    res = fitted(case_id)
    assert res.converged
    assert -2 * res.loglik == pytest.approx(ref["neg2loglik"], rel=LL_REL)
    assert res.n_obs == ref["dataset"]["n_obs"]
    assert res.n_subjects == ref["dataset"]["n_subjects"]
    assert len(res.excluded) == ref["dataset"]["n_rows_excluded"]
    expected = _ref_cov(ref)
    got = res.covariance
    got = {"": got} if isinstance(got, pd.DataFrame) else {str(k): v for k, v in got.items()}
    assert set(got) == set(expected)
    visits = ref["dataset"]["levels"][ref["model"]["visit"]]
    for key, mat in expected.items():
        assert [str(v) for v in got[key].index] == visits
        floor = 1e-5 * np.abs(mat).max()
        assert_close(got[key].to_numpy(), mat, COV_REL, floor, f"{case_id} covariance {key}")


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_fit_coefficients(case_id: str) -> None:
    ref = case(case_id)
    exp = pd.DataFrame(ref["coefficients"])
    got = fitted(case_id).to_frame()
    assert list(got["term"]) == list(exp["term"])
    assert_close(got["estimate"], exp["estimate"], REL, ABS, f"{case_id} estimate")
    assert_close(got["std_error"], exp["std_error"], REL, ABS, f"{case_id} std_error")
    assert_close(got["df"], exp["df"], DF_REL, 0, f"{case_id} Satterthwaite df")


STATS = (("estimate", REL, ABS), ("std_error", REL, ABS), ("df", DF_REL, 0))


def _columns(records: list[dict[str, Any]] | dict[str, list[Any]]) -> dict[str, list[Any]]:
    """R's rows (records or columns, as jsonlite wrote them) as columns."""
    if isinstance(records, dict):
        return records
    return {k: [r.get(k) for r in records] for k in records[0]} if records else {}


def _check_lsmeans_contrasts(case_id: str, res, exp_ls, exp_ct, what: str) -> None:
    ref = case(case_id)
    arm, by = _arm_by(ref)
    keys = [arm] + ([by] if by else [])
    got = res.lsmeans(arm, by=by)
    ours, theirs = _paired(got, _columns(exp_ls), keys, ("estimate", "std_error", "df"))
    for col, rel, abs_ in STATS:
        assert_close(ours[col], theirs[col], rel, abs_, f"{case_id} {what} lsmeans {col}")
    ct = res.contrast(arm, by=by, method="pairwise")
    exp = _columns(exp_ct)
    # R's rows by (level, reference[, by]); ours are "a - b", R's either b - a or a - b.
    index = _keyed(exp, ["level", "reference"] + ([by] if by else []))
    ct_by = [str(v) for v in ct[by]] if by else None
    sign = []
    rows = []
    for i, label in enumerate(ct["contrast"]):
        a, b = label.split(" - ")
        at = (ct_by[i],) if ct_by else ()
        flip = (b, a, *at) in index
        row = index.get((b, a, *at) if flip else (a, b, *at))
        assert row is not None, f"{case_id}: no R contrast for {a} - {b}"
        rows.append(row)
        sign.append(-1.0 if flip else 1.0)
    n_exp = len(exp["level"])
    assert len(rows) == n_exp and len(set(rows)) == n_exp
    sgn = np.asarray(sign)
    matched = {c: np.asarray(exp[c], dtype=float)[rows] for c in ("estimate", "std_error", "df")}
    assert_close(ct["estimate"], sgn * matched["estimate"], REL, ABS, f"{case_id} {what} contrast")
    assert_close(ct["std_error"], matched["std_error"], REL, ABS, f"{case_id} {what} contr SE")
    assert_close(ct["df"], matched["df"], DF_REL, 0, f"{case_id} {what} contrast df")
    # the arm's levels are the model factor's, with or without `by`
    first = str(got[arm].cat.categories[0])
    _check_default_contrast(case_id, res, exp, arm, by, what, first)


def _check_default_contrast(
    case_id: str, res, exp: dict[str, list[Any]], arm: str, by, what, first: str
):
    """The default contrast is emmeans' trt.vs.ctrl: each level minus the first level.

    R's reference rows are emmeans ``revpairwise`` (``level - reference``); those whose
    reference is the first level are exactly ``trt.vs.ctrl``, with the same sign. `first`
    is the first level of `arm` in the LS-means table.
    """
    got = res.contrast(arm, by=by)
    keep = [i for i, r in enumerate(exp["reference"]) if r == first]
    want = {k: [v[i] for i in keep] for k, v in exp.items()}
    pairs = zip(want["level"], want["reference"], strict=True)
    want["contrast"] = [f"{lv} - {r}" for lv, r in pairs]
    keys = ["contrast"] + ([by] if by else [])
    ours, theirs = _paired(got, want, keys, ("estimate", "std_error", "df"))
    assert all(c.endswith(f" - {first}") for c in got["contrast"])
    for col, rel, abs_ in STATS:
        assert_close(ours[col], theirs[col], rel, abs_, f"{case_id} {what} default {col}")


@pytest.mark.parametrize("case_id", [i for i in CASE_IDS if "lsmeans" in case(i)])
def test_fit_lsmeans_and_contrasts(case_id: str) -> None:
    ref = case(case_id)
    _check_lsmeans_contrasts(
        case_id, fitted(case_id), ref["lsmeans"], ref["contrasts"], "Satterthwaite"
    )


def _wald_l(terms: list[str], rows: list[dict[str, float]]) -> np.ndarray:
    """The contrast matrix of R's `rows` (term -> coefficient) over the model's `terms`."""
    L = np.zeros((len(rows), len(terms)))
    for i, row in enumerate(rows):
        for term, value in row.items():
            L[i, terms.index(term)] = value
    return L


@pytest.mark.parametrize("case_id", [i for i in CASE_IDS if case(i).get("wald_tests")])
def test_fit_wald_tests(case_id: str) -> None:
    res = fitted(case_id)
    terms = list(res.to_frame()["term"])  # once per fit, not per test
    for test in case(case_id)["wald_tests"]:
        exp = test["satterthwaite"]
        w = res.wald_test(_wald_l(terms, test["L"]))
        what = f"{case_id} {test['name']}"
        assert w.num_df == exp["num_df"], what
        assert_close(w.statistic, exp["f_stat"], REL, 0, f"{what} F")
        assert_close(w.den_df, exp["denom_df"], DF_REL, 0, f"{what} den df")


@pytest.mark.parametrize("variant", ["kenward-roger", "kenward-roger-linear"])
@pytest.mark.parametrize("case_id", REML_IDS)
def test_fit_kenward_roger(case_id: str, variant: str) -> None:
    ref = case(case_id)
    kr = ref["kenward_roger"][variant.replace("-", "_")]
    res = fitted(case_id, variant)
    got = res.to_frame()
    exp = pd.DataFrame(kr["coefficients"])
    assert_close(got["estimate"], exp["estimate"], REL, ABS, f"{case_id} {variant} estimate")
    assert_close(got["std_error"], exp["std_error"], REL, ABS, f"{case_id} {variant} SE")
    assert_close(got["df"], exp["df"], DF_REL, 0, f"{case_id} {variant} df")
    if "lsmeans" in kr:
        _check_lsmeans_contrasts(case_id, res, kr["lsmeans"], kr["contrasts"], variant)
    terms = list(got["term"])
    for test in ref.get("wald_tests") or []:
        exp_t = test[variant.replace("-", "_")]
        w = res.wald_test(_wald_l(terms, test["L"]))
        what = f"{case_id} {variant} {test['name']}"
        assert_close(w.statistic, exp_t["f_stat"], REL, 0, f"{what} F")
        assert_close(w.den_df, exp_t["denom_df"], DF_REL, 0, f"{what} den df")


def test_fit_leaves_input_unchanged() -> None:
    from efficacy import fit_mmrm

    ref = case("cosmetic3-main-us-reml")
    data = load_data(ref)
    before = data.copy(deep=True)
    m = ref["model"]
    fit_mmrm(data, m["formula"], subject=m["subject"], visit=m["visit"], covariance="us")
    pd.testing.assert_frame_equal(data, before)
