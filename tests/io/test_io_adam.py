"""read_adam on the real CDISC Pilot 01 and pharmaverseadam files (tests/reference/adam).

Expected numbers are computed independently from the XPT files with pyreadstat/pandas
in each test, and the headline ones are also written out (they agree with the README
beside the files: 254 subjects, 730 CIBIC+ records with DTYPE blank or LOCF).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from efficacy.errors import EfficacyError, InputError
from efficacy.io import read_adam
from tests.io.bundle_factory import tree_hashes

DATA = Path(__file__).resolve().parents[1] / "reference" / "adam"
ADSL = DATA / "cdiscpilot01_adsl.xpt"
CIBC = DATA / "cdiscpilot01_adqscibc.xpt"
PV_ADSL = DATA / "pharmaverseadam_adsl_derived.xpt"
PV_BCVA = DATA / "pharmaverseadam_adbcva_derived.xpt"


@pytest.fixture(scope="module")
def pilot():
    return read_adam(ADSL, CIBC)


@pytest.fixture(scope="module")
def raw_adsl() -> pd.DataFrame:
    return pyreadstat.read_xport(str(ADSL))[0]


@pytest.fixture(scope="module")
def raw_cibc() -> pd.DataFrame:
    return pyreadstat.read_xport(str(CIBC))[0]


def test_pilot_subjects(pilot, raw_adsl) -> None:
    s = pilot.subjects
    assert len(s) == len(raw_adsl) == 254
    assert s.index.tolist() == list(range(1, 255))
    assert s["subject_id"].tolist() == raw_adsl["USUBJID"].tolist()
    counts = s["arm"].value_counts().to_dict()
    assert counts == raw_adsl["TRT01P"].value_counts().to_dict()
    assert counts == {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}
    # ITTFL = Y for all 254 (and no RANDFL, so randomized comes from ITTFL)
    assert int(s["itt"].sum()) == int((raw_adsl["ITTFL"] == "Y").sum()) == 254
    assert s["randomized"].all()
    # per_protocol from EFFFL (no PPROTFL in the pilot): 234 Y, 20 N
    assert int(s["per_protocol"].sum()) == int((raw_adsl["EFFFL"] == "Y").sum()) == 234
    assert int((~s["per_protocol"]).sum()) == 20
    assert int(s["safety"].sum()) == 254
    assert s["age"].tolist() == raw_adsl["AGE"].tolist()
    assert s["site_id"].tolist() == raw_adsl["SITEID"].tolist()
    assert s["race"].tolist() == raw_adsl["RACE"].tolist()


def test_pilot_disposition(pilot, raw_adsl) -> None:
    s = pilot.subjects
    dcdecod = raw_adsl["DCDECOD"]
    assert s["disposition"].value_counts().to_dict() == {
        "completed": int((dcdecod == "COMPLETED").sum()),  # 110
        "lost_to_follow_up": int((dcdecod == "LOST TO FOLLOW-UP").sum()),  # 2
        "discontinued": int((~dcdecod.isin(["COMPLETED", "LOST TO FOLLOW-UP"])).sum()),  # 142
    }
    assert s["disposition"].value_counts()["completed"] == 110
    # reason: DCREASCD (the pilot has no DCSREAS), only for the not-completed
    assert s.loc[2, "subject_id"] == "01-701-1023"
    assert s.loc[2, "discontinuation_reason"] == "Adverse Event"
    assert s["discontinuation_reason"].notna().sum() == 144
    assert s.loc[s["disposition"] == "completed", "discontinuation_reason"].isna().all()
    assert pilot.manifest.raw["adam"]["subjects"]["discontinuation_reason"] == (
        "DCREASCD else DCDECOD"
    )


def test_pilot_measurements_select_anl01fl_and_observed(pilot, raw_cibc) -> None:
    m = pilot.measurements
    observed = raw_cibc["DTYPE"] == ""
    flagged = raw_cibc["ANL01FL"] == "Y"
    assert len(raw_cibc) == 730 and int((~observed).sum()) == 168
    assert int((~flagged).sum()) == 25 and int((flagged & ~observed).sum()) == 168
    kept = observed & flagged
    assert len(m) == int(kept.sum()) == 537
    # row = 1-based record number in the XPT
    assert m.index.tolist() == (np.flatnonzero(kept.to_numpy()) + 1).tolist()
    assert m["value"].tolist() == raw_cibc.loc[kept, "AVAL"].tolist()
    assert m["day"].tolist() == raw_cibc.loc[kept, "ADY"].astype(int).tolist()
    assert m["visit"].tolist() == raw_cibc.loc[kept, "AVISIT"].tolist()
    assert set(m["endpoint"]) == {"cibicval"}
    assert m.loc[1, "subject_id"] == "01-701-1015" and m.loc[1, "value"] == 4.0
    left_out = pilot.issues[pilot.issues["column"].isna()]
    assert left_out[["table", "problem", "kind"]].values.tolist() == [
        [
            "ADQSCIBC",
            "cdiscpilot01_adqscibc.xpt: 193 of 730 records left out (25 with ANL01FL not "
            "'Y'; 168 with DTYPE LOCF (derived, not observed))",
            "excluded",  # reported by SCH-013 as a notice, not an error
        ]
    ]
    assert pilot.manifest.raw["adam"]["excluded"] == {
        "ADQSCIBC": {"ANL01FL not 'Y'": 25, "DTYPE LOCF (derived, not observed)": 168}
    }
    assert pilot.sources["measurements"].n_rows == 537
    assert pilot.sources["measurements"].format == "xport"
    assert m["anl01fl"].all()


def test_pilot_cibic_has_no_baseline(pilot) -> None:
    """CIBIC+ has no baseline record: one notice, not analysable, never Week 8 (M3)."""
    notice = pilot.issues[pilot.issues["column"] == "ABLFL"]
    assert notice[["table", "value", "kind"]].values.tolist() == [
        ["ADQSCIBC", "CIBICVAL", "excluded"]
    ]
    assert notice["problem"].iloc[0] == (
        "cdiscpilot01_adqscibc.xpt: CIBICVAL (CIBIC Score) has no baseline record (no "
        "ABLFL variable); change from baseline is undefined, so it is not analysed"
    )
    (endpoint,) = pilot.manifest.data_endpoints
    assert (endpoint.id, endpoint.analysable, endpoint.source) == (
        "cibicval",
        False,
        "ADQSCIBC PARAMCD CIBICVAL",
    )
    assert pilot.manifest.baseline_visit == ""
    assert pilot.manifest.raw["adam"]["baseline_visit"] == "no ABLFL"


def test_pilot_include_derived() -> None:
    trial = read_adam(ADSL, CIBC, include_derived=True, analysis_flag=None)
    m = trial.measurements
    assert len(m) == 730 and m.index.tolist() == list(range(1, 731))
    assert (m["dtype"] == "LOCF").sum() == 168
    kinds = trial.issues.groupby(["column", "kind"]).size().to_dict()
    # the no-baseline notice, and without ANL01FL the 25 records it leaves out are
    # second records of a subject at a visit (reported in ADaM terms, m8)
    assert kinds == {("ABLFL", "excluded"): 1, ("AVISIT", "problem"): 25}


def test_pilot_manifest(pilot) -> None:
    m = pilot.manifest
    assert (m.id, m.title, m.design) == ("CDISCPILOT01", "CDISCPILOT01", "parallel")
    assert [(v.id, v.week, v.day) for v in m.visits] == [
        ("Week 8", 8.0, 56),  # AWTARGET
        ("Week 16", 16.0, 112),
        ("Week 24", 24.0, 168),
    ]
    # windows: AWLO/AWHI 2-84, 85-140, 141-(open): larger distance from the target
    assert [v.window_days for v in m.visits] == [54, 28, 27]
    assert m.raw["adam"]["windows"] == "AWLO/AWHI per record"
    assert [(a.id, a.control) for a in m.arms] == [
        ("Placebo", True),  # TRT01PN = 0
        ("Xanomeline Low Dose", False),  # ordered by TRT01PN 0, 54, 81
        ("Xanomeline High Dose", False),
    ]
    assert m.raw["adam"]["control"] == "TRT01PN = 0"
    assert m.raw["trial"]["baseline_day"] == 1
    assert pilot.sources["subjects"].missing_columns == (
        "allocation",
        "fitzpatrick",
        "randomization_date",
        "pp_exclusion_reason",
    )
    assert pilot.sources["subjects"].path == ADSL
    assert pilot.sources["adverse_events"].path is None  # not supplied, never zero events
    assert pilot.sources["deviations"].path is None


def test_arguments() -> None:
    trial = read_adam(
        ADSL,
        CIBC,
        control="Xanomeline Low Dose",
        baseline_visit="Week 16",
        study_title="CDISC Pilot 01",
        endpoints={"CIBICVAL": "cibic_plus"},
    )
    assert [a.id for a in trial.manifest.control_arms] == ["Xanomeline Low Dose"]
    assert trial.manifest.baseline_visit == "Week 16"
    # named by the user for a dataset without ABLFL: the Week 16 records are baseline
    assert [(e.id, e.analysable) for e in trial.manifest.data_endpoints] == [("cibic_plus", True)]
    assert trial.manifest.title == "CDISC Pilot 01"
    assert set(trial.measurements["endpoint"]) == {"cibic_plus"}
    assert read_adam(ADSL, control=[]).manifest.control_arms == ()
    with pytest.raises(EfficacyError, match=r"control=\['Placebos'\] is not a TRT01P value"):
        read_adam(ADSL, control="Placebos")
    with pytest.raises(EfficacyError, match="baseline_visit='Week 0' is not an AVISIT value"):
        read_adam(ADSL, CIBC, baseline_visit="Week 0")
    with pytest.raises(EfficacyError, match=r"endpoints names PARAMCD \['ADAS'\]"):
        read_adam(ADSL, CIBC, endpoints={"ADAS": "x"})


def test_adsl_only() -> None:
    trial = read_adam(ADSL)
    assert trial.measurements.empty and trial.sources["measurements"].path is None
    assert trial.manifest.visits == () and trial.manifest.baseline_visit == ""


def test_pharmaverse_screen_failures_and_bds() -> None:
    raw = pyreadstat.read_xport(str(PV_ADSL))[0]
    bcva = pyreadstat.read_xport(str(PV_BCVA))[0]
    trial = read_adam(PV_ADSL, PV_BCVA)
    s = trial.subjects
    assert len(s) == len(raw) == 306
    screen = raw["TRT01P"] == "Screen Failure"
    assert int(screen.sum()) == 52
    assert (s["disposition"] == "screen_failure").tolist() == screen.tolist()
    assert s.loc[screen.to_numpy(), "arm"].isna().all()
    # no RANDFL / ITTFL: randomised = RANDDT present (254 of 306)
    assert trial.manifest.raw["adam"]["subjects"]["randomized"] == (
        "RANDDT present and TRT01P is an arm"
    )
    assert s["randomized"].tolist() == raw["RANDDT"].notna().tolist()
    assert int(s["randomized"].sum()) == 254
    assert s["disposition"].value_counts().to_dict() == {
        "discontinued": int((raw["EOSSTT"] == "DISCONTINUED").sum()),  # 144
        "completed": int((raw["EOSSTT"] == "COMPLETED").sum()),  # 110
        "screen_failure": 52,
    }
    assert s.loc[1, "randomization_date"] == pd.Timestamp(raw.loc[0, "RANDDT"])
    assert {"itt", "per_protocol"} <= set(trial.sources["subjects"].missing_columns)
    m = trial.measurements
    # ANL01FL = 'Y' selects the analysed records; the Screening records (all 306 people,
    # screen failures too) and the unselected repeats are counted in one notice
    kept = (bcva["ANL01FL"] == "Y").to_numpy()
    assert len(bcva) == 7672 and len(m) == int(kept.sum()) == 5984
    assert m.index.tolist() == (np.flatnonzero(kept) + 1).tolist()
    sel = bcva[kept]
    assert m["body_site"].tolist() == sel["AFEYE"].tolist()
    assert m["base"].tolist() == pytest.approx(sel["BASE"].tolist(), nan_ok=True)
    assert m["chg"].tolist() == pytest.approx(sel["CHG"].tolist(), nan_ok=True)
    assert m["unit"].tolist() == sel["AVALU"].tolist()
    assert int(m["ablfl"].sum()) == int((bcva["ABLFL"] == "Y").sum()) == 1016
    assert sorted(set(m["endpoint"])) == ["fbcva", "fbcvalog", "sbcva", "sbcvalog"]
    assert all(e.analysable for e in trial.manifest.data_endpoints)
    visits = {v.id: (v.week, v.day) for v in trial.manifest.visits}
    assert "Screening" not in visits  # no selected record is at Screening
    assert visits["Baseline"] == (0.0, 1)
    assert visits["Week 4"] == (4.0, 29)  # AVISITN (5) is not a week count here
    assert visits["Week 10 (T)"] == (10.0, 71)
    assert trial.manifest.baseline_visit == "Baseline"  # where the ABLFL records are
    assert trial.manifest.raw["adam"]["windows"] is None  # no AWLO/AWHI: INT-004 skipped
    # BASE and CHG agree with recomputation from the ABLFL records: no issue but the notice
    assert trial.issues[["table", "problem"]].values.tolist() == [
        [
            "ADBCVA",
            "pharmaverseadam_adbcva_derived.xpt: 1688 of 7672 records left out (1688 with "
            "ANL01FL not 'Y')",
        ]
    ]


def test_csv_adam_matches_xpt(tmp_path: Path, pilot, raw_adsl, raw_cibc) -> None:
    raw_adsl.to_csv(tmp_path / "adsl.csv", index=False)
    raw_cibc.rename(columns=str.lower).to_parquet(tmp_path / "adqscibc.parquet", index=False)
    trial = read_adam(tmp_path / "adsl.csv", tmp_path / "adqscibc.parquet")
    pd.testing.assert_frame_equal(trial.subjects, pilot.subjects)
    expected = pilot.measurements.assign(
        dataset=pd.Series("ADQSCIBC", index=pilot.measurements.index, dtype="string")
    )
    pd.testing.assert_frame_equal(trial.measurements, expected)
    assert trial.sources["subjects"].format == "csv"


def test_inputs_unchanged() -> None:
    before = tree_hashes(DATA)
    read_adam(ADSL, CIBC, include_derived=True)
    read_adam(PV_ADSL, PV_BCVA)
    assert tree_hashes(DATA) == before


def test_ongoing_and_bad_cells(tmp_path: Path) -> None:
    (tmp_path / "adsl.csv").write_text(
        "STUDYID,USUBJID,TRT01P,ITTFL,EOSSTT,DCSREAS,AGE\n"
        "S,1,Vehicle,Y,COMPLETED,,40\n"
        "S,2,Active,Y,ONGOING,,forty\n"
        "S,3,Active,Y,DISCONTINUED,Moved away,33\n"
        "S,4,Active,X,,,50\n"
    )
    trial = read_adam(tmp_path / "adsl.csv")
    s = trial.subjects
    assert s["disposition"].tolist() == ["completed", pd.NA, "discontinued", pd.NA]
    assert s["discontinuation_reason"].tolist() == [pd.NA, pd.NA, "Moved away", pd.NA]
    assert [a.id for a in trial.manifest.control_arms] == ["Vehicle"]
    got = trial.issues[["table", "column", "row", "value"]].values.tolist()
    assert got == [
        ["subjects", "disposition", 2, "ONGOING"],
        ["subjects", "randomized", 4, "X"],
        ["subjects", "itt", 4, "X"],
        ["subjects", "age", 2, "forty"],
    ]


def test_unusable_files(tmp_path: Path) -> None:
    (tmp_path / "adsl.csv").write_text("SUBJID,TRT01P\n1,A\n")
    with pytest.raises(InputError, match=r"adsl.csv: no USUBJID variable\(s\); is this an ADSL"):
        read_adam(tmp_path / "adsl.csv")
    (tmp_path / "bad.xpt").write_bytes(b"HEADER RECORD*******LIBRARY broken")
    with pytest.raises(InputError, match=r"bad\.xpt: not a readable SAS XPORT file"):
        read_adam(tmp_path / "bad.xpt")
    with pytest.raises(InputError, match="no such file"):
        read_adam(tmp_path / "absent.xpt")
    with pytest.raises(InputError, match="no PARAMCD, AVAL variable"):
        read_adam(ADSL, ADSL)


def test_named_control_without_trt01p_names_the_file_and_the_fix(tmp_path: Path) -> None:
    """No TRT01P: no arm is known, so a named control cannot be one (before: "is not a
    TRT01P value; use one or more of []"). Without a named control the ADSL still reads."""
    (tmp_path / "adsl.csv").write_text("STUDYID,USUBJID,ITTFL\nS,1,Y\nS,2,Y\n")
    with pytest.raises(InputError) as caught:
        read_adam(tmp_path / "adsl.csv", control="Placebo")
    assert str(caught.value) == (
        f"{tmp_path / 'adsl.csv'}: control=['Placebo'] names a planned arm, but this ADSL "
        "has no TRT01P variable (planned treatment); add TRT01P, or name no control"
    )
    assert read_adam(tmp_path / "adsl.csv").manifest.control_arms == ()
