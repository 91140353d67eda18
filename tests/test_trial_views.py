"""The one normalised view of a trial: first row per subject, allocations, canonical units.

Each derivation lives in one place (``Trial.subjects_unique`` / ``first_rows``,
``Trial.allocations`` / ``parse_allocation``, ``instruments.measures.canonical_units``);
these tests pin their outputs on the sample bundles and on edge cases, and check that
validation, the CONSORT flow and the analysis read the same rows.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from efficacy.analysis.data import population, site_allocation
from efficacy.consort import allocated_units, consort_flow
from efficacy.instruments.measures import canonical_units, prepare_measurements
from efficacy.protocol import load_protocol
from efficacy.trial import ALLOCATION_COLUMNS, first_rows, parse_allocation
from efficacy.validation.context import Context

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"
PROTOCOL = load_protocol("iso-efficacy-2025")
PLAN = SimpleNamespace(control="VEHICLE", actives=("ACTIVE",))


@pytest.fixture(scope="module")
def integrity(samples):
    return samples.trial("flawed_integrity")  # read_trial(SAMPLES / "flawed_integrity")


@pytest.fixture(scope="module")
def flawed_split(samples):
    return samples.trial("flawed_split_face")  # read_trial(SAMPLES / "flawed_split_face")


# -- first row per subject -------------------------------------------------------------


@pytest.mark.parametrize(
    ("bundle", "rows", "unique"),
    [
        ("parallel_12wk", 150, 150),
        ("split_face_12wk", 50, 50),
        ("flawed_integrity", 31, 30),  # S0018 listed twice (rows 18 and 19)
        ("flawed_split_face", 15, 15),
    ],
)
def test_subjects_unique_on_sample_bundles(bundle: str, rows: int, unique: int, samples) -> None:
    trial = samples.trial(bundle)  # read_trial(SAMPLES / bundle)
    raw = pd.read_csv(SAMPLES / bundle / "subjects.csv", dtype=str)
    assert (len(trial.subjects), len(trial.subjects_unique())) == (rows, unique)
    assert len(raw) == rows and raw["subject_id"].nunique() == unique


def test_duplicate_subject_keeps_its_first_row(integrity) -> None:
    u = integrity.subjects_unique()
    s0018 = u[u["subject_id"] == "S0018"]
    assert list(s0018.index) == [18]  # source row 18 (ACTIVE), not 19 (VEHICLE)
    assert s0018["arm"].tolist() == ["ACTIVE"]
    assert 19 not in u.index


def test_first_rows_edge_cases() -> None:
    s = pd.DataFrame(
        {
            "subject_id": ["S1", None, "", "S2", "S1", " S3", "S2"],
            "arm": ["A", "B", "C", "D", "E", "F", "G"],
        },
        index=pd.Index([1, 2, 3, 4, 5, 6, 7], name="row"),
    )
    got = first_rows(s)
    assert got.index.tolist() == [1, 4, 6]  # blank ids out, repeats keep the first row
    assert got["arm"].tolist() == ["A", "D", "F"]
    assert got["subject_id"].tolist() == ["S1", "S2", " S3"]  # ids are compared as written
    assert s["arm"].tolist() == ["A", "B", "C", "D", "E", "F", "G"]  # input untouched
    for dtype in (object, pd.StringDtype("pyarrow"), "str"):  # every text column type
        typed = s.astype({"subject_id": dtype})
        pd.testing.assert_frame_equal(first_rows(typed), typed.loc[[1, 4, 6]])


def test_validation_flow_and_analysis_read_the_same_subject_rows(integrity) -> None:
    ctx = Context(integrity, PROTOCOL)
    unique = integrity.subjects_unique()
    assert ctx.subjects_first.index.tolist() == unique["subject_id"].tolist()
    assert ctx.subjects_first["row"].tolist() == unique.index.tolist()
    flow = consort_flow(integrity, PROTOCOL)
    assert flow.assessed.n == len(unique) == 30
    randomised = unique[unique["randomized"].fillna(False).astype(bool)]
    itt, text = population(integrity, "itt")
    assert itt["subject_id"].tolist() == randomised["subject_id"].tolist()
    assert itt.loc[itt["subject_id"] == "S0018", "arm"].tolist() == ["ACTIVE"]
    assert "(1 repeated subject ids: first row used)" in text
    # the flow counts S0018 in ACTIVE, as the analysis does
    units = allocated_units(integrity)
    assert units.loc[units["subject_id"] == "S0018", "arm"].tolist() == ["ACTIVE"]


# -- allocation ------------------------------------------------------------------------


def test_allocations_on_split_face_sample(samples) -> None:
    trial = samples.trial("split_face_12wk")  # read_trial(SAMPLES / "split_face_12wk")
    a = trial.allocations()
    assert tuple(a.columns) == ALLOCATION_COLUMNS
    assert len(a) == 80 and a["ok"].all()  # 40 randomised x 2 sites
    assert set(a["site"]) == {"left_cheek", "right_cheek"}
    assert set(a["arm"]) == {"ACTIVE", "VEHICLE"}
    assert a.groupby("subject_id")["arm"].agg(frozenset).eq({"ACTIVE", "VEHICLE"}).all()


def test_allocations_of_flawed_split_face(flawed_split) -> None:
    a = flawed_split.allocations()
    s0001 = a[a["subject_id"] == "S0001"]
    assert s0001[["site", "arm"]].values.tolist() == [
        ["left_cheek", "ACTIVE"],
        ["left_cheek", "VEHICLE"],
        ["right_cheek", "VEHICLE"],
    ]
    assert s0001["row"].tolist() == [1, 1, 1]
    # the flow keeps the first pair of a site named twice; the analysis drops the subject
    units = allocated_units(flawed_split)
    got = units[units["subject_id"] == "S0001"][["site", "arm"]].values.tolist()
    assert got == [["left_cheek", "ACTIVE"], ["right_cheek", "VEHICLE"]]
    itt, _ = population(flawed_split, "itt")
    alloc = site_allocation(itt, PLAN)
    assert "S0001" not in set(alloc["subject_id"])  # ambiguous: left_cheek has two arms
    assert "S0004" not in set(alloc["subject_id"])  # ACTIVE at both sites: no control
    assert "S0006" not in set(alloc["subject_id"])  # PLACEBO instead of the control
    row = alloc[alloc["subject_id"] == "S0002"].iloc[0]
    assert (row["arm"], row["treated_site"], row["control_site"]) == (
        "ACTIVE",
        "right_cheek",
        "left_cheek",
    )
    # validation reads the very same pairs
    ctx = Context(flawed_split, PROTOCOL)
    pd.testing.assert_frame_equal(ctx.allocation, a)


def test_parse_allocation_malformed_text() -> None:
    s = pd.DataFrame(
        {
            "subject_id": ["S1", "S2", "S3", "S4", "S5"],
            "allocation": [" left = A ;; right=B ;", "left", "=A;left=", None, "a=b=c"],
        },
        index=pd.Index([10, 11, 12, 13, 14], name="row"),
    )
    a = parse_allocation(s)
    assert a["row"].tolist() == [10, 10, 11, 12, 12, 14]
    assert a["pair"].tolist() == ["left = A", "right=B", "left", "=A", "left=", "a=b=c"]
    assert a["site"].tolist() == ["left", "right", "left", "", "left", "a"]
    assert a["arm"].fillna("<missing>").tolist() == ["A", "B", "<missing>", "A", "", "b=c"]
    assert a["ok"].tolist() == [True, True, False, False, False, True]


def _allocation_by_pandas_string_methods(subjects: pd.DataFrame) -> pd.DataFrame:
    """parse_allocation as it was written with pandas string methods (before d12b5bb+)."""
    blank = subjects["allocation"].isna() | subjects["allocation"].eq("").fillna(False)
    s = subjects[~blank.to_numpy(dtype=bool)]
    pairs = s["allocation"].astype(str).str.split(";").explode().str.strip()
    pairs = pairs[pairs != ""]
    parts = pairs.str.split("=", n=1, expand=True).reindex(columns=[0, 1])
    site = parts[0].astype(object).str.strip()
    arm = parts[1].astype(object).str.strip()
    ok = site.fillna("").ne("") & arm.fillna("").ne("")
    return pd.DataFrame(
        {
            "row": pairs.index.to_numpy(),
            "subject_id": s["subject_id"].reindex(pairs.index).to_numpy(dtype=object),
            "pair": pairs.to_numpy(dtype=object),
            "site": site.to_numpy(dtype=object),
            "arm": arm.to_numpy(dtype=object),
            "ok": ok.to_numpy(dtype=bool),
        }
    )


def test_parse_allocation_equals_the_pandas_string_methods() -> None:
    # random texts of separators, '=', whitespace (ASCII and Unicode) and names, blank
    # and missing cells, Arrow and object columns: the same frame, cell types included
    rng = np.random.default_rng(7)
    atoms = [";", ";", "=", "=", " ", "\t", "\u00a0", "\u2003", "\x1c", "left", "A", "é", "0"]
    # 60 tables of 0-39 rows (about 1,200 texts); each row is parsed on its own, so a
    # long table covers what many short ones would, and n = 0 or all-blank tables occur
    for case in range(60):
        n = int(rng.integers(0, 40)) if case > 1 else 0
        texts: list[object] = [
            "".join(rng.choice(atoms, size=int(rng.integers(0, 9))).tolist()) for _ in range(n)
        ]
        texts = [None if t == "0" else t for t in texts]
        dtype = pd.StringDtype("pyarrow") if case % 2 else object
        subjects = pd.DataFrame(
            {
                "subject_id": pd.array([f"S{i}" if i % 3 else None for i in range(n)], dtype=dtype),
                "allocation": pd.array(texts, dtype=dtype),
            },
            index=pd.Index(rng.permutation(n) + 1, name="row"),
        )
        got = parse_allocation(subjects)
        want = _allocation_by_pandas_string_methods(subjects)
        pd.testing.assert_frame_equal(got, want, check_index_type=True)
        for c in ALLOCATION_COLUMNS:
            assert [type(v) for v in got[c]] == [type(v) for v in want[c]], (case, c)


def test_parse_allocation_without_the_column() -> None:
    a = parse_allocation(pd.DataFrame({"subject_id": ["S1"]}))
    assert tuple(a.columns) == ALLOCATION_COLUMNS and a.empty


def test_site_allocation_edge_cases() -> None:
    subj = pd.DataFrame(
        {
            "subject_id": ["S1", "S2", "S3", "S4"],
            "allocation": [
                "left=ACTIVE;right=VEHICLE;left=ACTIVE",  # a repeated identical pair is fine
                "left=ACTIVE;right=ACTIVE;chin=VEHICLE",  # ACTIVE twice: first site
                "left=ACTIVE;right=VEHICLE;right=ACTIVE",  # right has two arms: ambiguous
                "left=ACTIVE;right",  # malformed part, no control
            ],
        }
    )
    got = site_allocation(subj, PLAN)
    assert got.values.tolist() == [
        ["S1", "ACTIVE", "left", "right"],
        ["S2", "ACTIVE", "left", "chin"],
    ]


# -- units -----------------------------------------------------------------------------


def test_canonical_units_on_flawed_integrity(integrity) -> None:
    m = integrity.measurements
    c = canonical_units(m)
    assert len(c.value) == len(m) == 1824
    reasons = pd.Series(c.reason).value_counts().to_dict()
    assert reasons == {
        "": 1820,
        "value missing": 2,
        "unit '%' is not a known unit": 1,
        "endpoint 'sebumeter' is not in the catalogue": 1,
    }
    at = {row: i for i, row in enumerate(m.index)}
    i = at[1532]  # wrinkle_ra 18.7 recorded in "µm"
    assert (c.unit[i], c.target[i], c.factor[i], c.value[i]) == ("um", "um", 1.0, 18.7)
    i = at[574]  # corneometer in "%"
    assert c.unit[i] is None and c.target[i] == "a.u." and math.isnan(c.factor[i])
    i = at[682]  # sebumeter: not a catalogue endpoint
    assert not c.known[i] and c.target[i] is None and c.unit[i] == "a.u."
    # the validation context and scoring read the same values
    ctx = Context(integrity, PROTOCOL)
    np.testing.assert_array_equal(ctx.meas.value, c.value)
    np.testing.assert_array_equal(ctx.meas.unit, c.unit)
    scored = prepare_measurements(m)
    wra = scored[(scored["endpoint"] == "wrinkle_ra") & (scored["source_rows"] == "1532")]
    assert wra["value"].tolist() == [18.7]


def test_canonical_units_aliases_and_conversion() -> None:
    m = pd.DataFrame(
        {
            "endpoint": ["wrinkle_rz"] * 5 + ["corneometer", "corneometer", None],
            "unit": ["mm", " µm ", "UM", "μm", None, "A.U.", "mm", "mm"],
            "value": [0.05, 50.0, 50.0, 50.0, 50.0, 40.0, "x", 1.0],
        }
    )
    c = canonical_units(m)
    assert c.unit.tolist() == ["mm", "um", "um", "um", None, "a.u.", "mm", "mm"]
    assert c.target.tolist() == ["um"] * 5 + ["a.u.", "a.u.", None]
    assert c.value[:4].round(9).tolist() == [50.0, 50.0, 50.0, 50.0]
    assert c.value[5] == 40.0
    assert c.reason.tolist() == [
        "",
        "",
        "",
        "",
        "unit None is not a known unit",
        "",
        "unit 'mm' cannot be converted to a.u.",
        "endpoint missing",
    ]
