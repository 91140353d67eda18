"""Design construction for fit_mmrm: R naming, coding, exclusions, aliasing, grids.

Expected column names are those of R's ``model.matrix`` (R 4.x, default treatment
contrasts) for the same formula and factor levels; numeric expectations are closed-form
(indicator columns, counts in fev_data as documented in tests/reference/mmrm/README.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from efficacy.errors import ModelSpecError
from efficacy.mmrm.design import EXCLUDED_COLUMNS, build_design
from efficacy.mmrm.hypotheses import design_df, resolve_term, type3_matrix
from efficacy.mmrm.lsmeans import contrast_rows, estimable, lsmeans_grid
from efficacy.mmrm.spec import FitControl, check_options

MAIN = "FEV1 ~ RACE + SEX + ARMCD * AVISIT"


def design(data: pd.DataFrame, formula: str = MAIN, **kw):
    return build_design(data, formula, subject="USUBJID", visit="AVISIT", **kw)


def test_r_names_main_model(fev_data):
    d = design(fev_data)
    # R: colnames(model.matrix(FEV1 ~ RACE + SEX + ARMCD * AVISIT, fev_data))
    assert d.column_names == (
        "(Intercept)",
        "RACEBlack or African American",
        "RACEWhite",
        "SEXFemale",
        "ARMCDTRT",
        "AVISITVIS2",
        "AVISITVIS3",
        "AVISITVIS4",
        "ARMCDTRT:AVISITVIS2",
        "ARMCDTRT:AVISITVIS3",
        "ARMCDTRT:AVISITVIS4",
    )
    assert [t.label for t in d.mm.terms] == [
        "(Intercept)",
        "RACE",
        "SEX",
        "ARMCD",
        "AVISIT",
        "ARMCD:AVISIT",
    ]
    assert d.aliased == ()


def test_counts_and_order(fev_data):
    d = design(fev_data)
    # README: 537 observations from 197 subjects; SAS reads 200 subjects
    assert d.y.shape == (537,)
    assert len(d.subject_levels) == 197
    assert d.n_subjects_read == 200
    assert d.visit_levels == ("VIS1", "VIS2", "VIS3", "VIS4")
    # rows sorted by subject then visit
    key = d.subject * 10 + d.visit
    assert np.all(np.diff(key) > 0)
    # the model matrix is the indicator coding of the analysed rows, in this order
    rows = fev_data.loc[d.row_index]
    X = d.mm.X
    np.testing.assert_array_equal(X[:, 0], 1.0)
    np.testing.assert_array_equal(X[:, 4], (rows["ARMCD"] == "TRT").to_numpy(float))
    np.testing.assert_array_equal(
        X[:, 8], ((rows["ARMCD"] == "TRT") & (rows["AVISIT"] == "VIS2")).to_numpy(float)
    )
    np.testing.assert_array_equal(d.y, rows["FEV1"].to_numpy())


def test_r_term_order_numeric_covariates(fev_data):
    # R orders terms by degree: FEV1_BL comes before the two-way interaction
    d = design(fev_data, "FEV1 ~ ARMCD * AVISIT + FEV1_BL")
    assert d.column_names[:6] == (
        "(Intercept)",
        "ARMCDTRT",
        "AVISITVIS2",
        "AVISITVIS3",
        "AVISITVIS4",
        "FEV1_BL",
    )
    d = design(fev_data, "FEV1 ~ FEV1_BL * ARMCD")
    assert d.column_names == ("(Intercept)", "FEV1_BL", "ARMCDTRT", "FEV1_BL:ARMCDTRT")
    rows = fev_data.loc[d.row_index]
    np.testing.assert_allclose(
        d.mm.X[:, 3], rows["FEV1_BL"].to_numpy() * (rows["ARMCD"] == "TRT").to_numpy()
    )
    # without the main effect, R codes the factor by all its indicators
    d = design(fev_data, "FEV1 ~ FEV1_BL:ARMCD")
    assert d.column_names == ("(Intercept)", "FEV1_BL:ARMCDPBO", "FEV1_BL:ARMCDTRT")
    d = design(fev_data, "FEV1 ~ 0 + ARMCD")
    assert d.column_names == ("ARMCDPBO", "ARMCDTRT")


def test_reference_level_is_first_category(fev_data):
    data = fev_data.assign(ARMCD=fev_data["ARMCD"].cat.reorder_categories(["TRT", "PBO"]))
    d = design(data, "FEV1 ~ ARMCD")
    assert d.column_names == ("(Intercept)", "ARMCDPBO")


def test_strings_sorted_and_bools_as_factors(fev_data):
    data = fev_data.assign(
        SEX=fev_data["SEX"].astype(str), FLAG=fev_data["FEV1_BL"] > 40, AVISIT=fev_data["AVISIT"]
    )
    d = design(data, "FEV1 ~ SEX + FLAG")
    # str column: sorted levels Female < Male; bool: FALSE < TRUE as in R
    assert d.column_names == ("(Intercept)", "SEXMale", "FLAGTRUE")


def test_non_categorical_visit_is_sorted_with_note(fev_data):
    data = fev_data.assign(AVISIT=fev_data["AVISIT"].astype(str).str.replace("VIS4", "VIS10"))
    d = build_design(data, "FEV1 ~ ARMCD", subject="USUBJID", visit="AVISIT")
    assert d.visit_levels == ("VIS1", "VIS10", "VIS2", "VIS3")
    assert any("sorted as text" in w for w in d.warnings)


def test_exclusions_listed_with_columns_and_reason(fev_data):
    data = fev_data.copy()
    with_fev = data.index[data["FEV1"].notna()]
    data.loc[with_fev[0], "RACE"] = np.nan
    data.loc[with_fev[1], "USUBJID"] = None
    data.loc[0, "SEX"] = np.nan  # row 0 also lacks FEV1
    d = design(data)
    ex = d.excluded
    assert tuple(ex.columns) == EXCLUDED_COLUMNS
    assert len(ex) == 263 + 2
    by_row = ex.set_index("row")
    assert by_row.loc[with_fev[0], "columns"] == "RACE"
    assert by_row.loc[with_fev[0], "reason"] == "missing covariate"
    assert by_row.loc[with_fev[1], "reason"] == "missing subject"
    assert by_row.loc[0, "columns"] == "FEV1, SEX"
    assert by_row.loc[0, "reason"] == "missing outcome; missing covariate"
    assert d.y.shape == (535,)
    assert not set(ex["row"]) & set(d.row_index)


def test_input_frame_unchanged(fev_data):
    data = fev_data.copy()
    data["SEX"] = data["SEX"].astype(str)
    before = data.copy(deep=True)
    design(data, "FEV1 ~ RACE + SEX + ARMCD * AVISIT + FEV1_BL", weights="WEIGHT")
    pd.testing.assert_frame_equal(data, before)


def test_aliased_columns_named_and_null_basis(fev_data):
    data = fev_data.assign(RACE2=fev_data["RACE"])
    d = design(data, "FEV1 ~ FEV1_BL + I(2 * FEV1_BL) + RACE + RACE2")
    assert d.aliased == (
        "I(2 * FEV1_BL)",
        "RACE2Black or African American",
        "RACE2White",
    )
    assert any("I(2 * FEV1_BL)" in w for w in d.warnings)
    # X times the null basis is zero: the aliased columns are combinations of kept ones
    np.testing.assert_allclose(d.mm.X @ d.null_basis, 0.0, atol=1e-9)
    assert d.x_kept.shape == (537, 4)


def test_duplicate_subject_visit_is_misuse(fev_data):
    data = pd.concat([fev_data, fev_data.iloc[[5]]], ignore_index=True)
    with pytest.raises(ModelSpecError, match=r"subject 'PT2' has 2 rows at visit 'VIS2'"):
        design(data)


def test_non_positive_weights_name_rows(fev_data):
    data = fev_data.copy()
    ok = data.index[data["FEV1"].notna()]
    data.loc[ok[3], "WEIGHT"] = 0.0
    data.loc[ok[7], "WEIGHT"] = -1.0
    with pytest.raises(ModelSpecError, match=rf"rows \[{ok[3]}, {ok[7]}\]"):
        design(data, weights="WEIGHT")


def test_bad_arguments_all_reported(fev_data):
    with pytest.raises(ModelSpecError, match=r"subject='NOPE'.*visit='NADA'"):
        build_design(fev_data, MAIN, subject="NOPE", visit="NADA")
    with pytest.raises(ModelSpecError, match="'AGE'"):
        design(fev_data, "FEV1 ~ AGE + ARMCD")
    with pytest.raises(ModelSpecError, match="left-hand side"):
        design(fev_data, "~ ARMCD")


def test_unused_level_dropped_with_note(fev_data):
    data = fev_data.assign(
        RACE=fev_data["RACE"].cat.add_categories(["Other"]),
    )
    d = design(data)
    assert "RACEOther" not in d.column_names
    assert any("'Other'" in w for w in d.warnings)


def test_fit_control_reports_every_problem():
    with pytest.raises(ModelSpecError) as info:
        FitControl(
            optimizers=("newton", "simplex"), tolerance=-1.0, max_iter=0, start=(1.0, np.nan)
        )
    msg = str(info.value)
    for part in ("simplex", "tolerance", "max_iter", "finite"):
        assert part in msg
    assert FitControl(optimizers=["bfgs"]).optimizers == ("bfgs",)
    with pytest.raises(ModelSpecError, match=r"covariance='un'.*method='REML'.*df='kr'"):
        check_options("un", "REML", "kr", None)


def test_type3_rows_match_sas_estimable_functions(fev_data):
    d = design(fev_data)
    # RACE (no interaction): the two treatment contrasts themselves
    L = type3_matrix(d, resolve_term(d, "RACE"))
    np.testing.assert_array_equal(L, np.eye(11)[[1, 2]])
    # ARMCD with ARMCD*AVISIT: TRT - PBO averaged over the four visits
    L = type3_matrix(d, resolve_term(d, "ARMCD"))
    np.testing.assert_allclose(L, [[0, 0, 0, 0, 1, 0, 0, 0, 0.25, 0.25, 0.25]], atol=1e-12)
    # AVISIT: visit differences averaged over the two arms
    L = type3_matrix(d, resolve_term(d, "AVISIT*ARMCD"))
    np.testing.assert_array_equal(L, np.eye(11)[[8, 9, 10]])


def test_between_within_df(fev_data):
    d = design(fev_data)
    # SAS BETWITHIN with TYPE=UN: every effect gets N - rank(X_between) = 197 - 5
    dd = design_df(d, "us")
    np.testing.assert_array_equal(dd.term_bw, 192.0)
    assert dd.residual == 537 - 11
    # other structures: within effects get n - N - rank(within part) = 537 - 197 - 6
    dd = design_df(d, "cs")
    np.testing.assert_array_equal(dd.term_bw, [192, 192, 192, 192, 334, 334])


def test_lsmeans_grid_rows(fev_data):
    d = design(fev_data, "FEV1 ~ FEV1_BL + RACE + SEX + ARMCD * AVISIT")
    g = lsmeans_grid(d, "ARMCD", by="AVISIT")
    assert g.cells["ARMCD"].astype(str).tolist() == ["PBO", "TRT"] * 4
    assert (
        g.cells["AVISIT"].astype(str).tolist()
        == ["VIS1"] * 2 + ["VIS2"] * 2 + ["VIS3"] * 2 + ["VIS4"] * 2
    )
    mean_bl = fev_data.loc[d.row_index, "FEV1_BL"].mean()
    # (TRT, VIS3): intercept, mean baseline, RACE 1/3 each, SEX 1/2, TRT, VIS3, TRT:VIS3
    expected = [1, mean_bl, 1 / 3, 1 / 3, 0.5, 1, 0, 1, 0, 0, 1, 0]
    np.testing.assert_allclose(g.L[5], expected)
    assert estimable(d, g.L).all()
    labels, rows, _ = contrast_rows(g, ["ARMCD"], "reference")
    assert labels == ["TRT - PBO"] * 4
    np.testing.assert_allclose(rows[1], np.eye(12)[5] + np.eye(12)[9])
    labels, _, _ = contrast_rows(g, ["ARMCD"], "pairwise")
    assert labels == ["PBO - TRT"] * 4


def test_non_estimable_lsmeans_detected(fev_data):
    # RACE2 duplicates RACE: averaging over RACE2 is fine, but with a factor aliased to
    # a combination of others, LS means that weight the aliased column are non-estimable
    data = fev_data.assign(GRP=np.where(fev_data["ARMCD"] == "TRT", "a", "b"))
    d = design(data, "FEV1 ~ ARMCD + GRP")
    assert d.aliased == ("GRPb",)
    g = lsmeans_grid(d, "ARMCD")
    assert not estimable(d, g.L).any()
    g = lsmeans_grid(d, ["ARMCD", "GRP"])
    # (PBO, b) and (TRT, a) occur in the data; (TRT, b) and (PBO, a) do not
    np.testing.assert_array_equal(estimable(d, g.L), [False, True, True, False])


def test_string_factor_codes_equal_arrow_factorize() -> None:
    """Arrow-backed strings are factorised as objects: the same codes and sorted levels."""
    from efficacy.mmrm.design import _sorted_codes

    values = ["b", "é", "a", None, "Z", "b", "ä", "10", "9", "é"]
    series = pd.Series(values, dtype="str")
    codes, levels = _sorted_codes(series)
    want_codes, want_levels = pd.factorize(series, sort=True)  # on the Arrow array
    np.testing.assert_array_equal(codes, want_codes)
    assert levels == want_levels.tolist() == ["10", "9", "Z", "a", "b", "ä", "é"]
