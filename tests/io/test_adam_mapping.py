"""ADaM mapping that never guesses silently: small hand-written datasets, exact results.

Each dataset is a few CSV lines whose expected mapping is written out in the test:
baseline from ABLFL, BASE / CHG / AWLO-AWHI checks, record selection in one notice,
screen failures, the control arm, ADAE and ADDV, the three Dataset-JSON forms, and the
three inputs a command accepts (bundle, ADaM folder, ADaM bundle).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from efficacy.errors import EfficacyError, InputError
from efficacy.io import read_adam, read_input
from efficacy.io._adam_files import find_adam_datasets, read_adam_file

ADSL = (
    "STUDYID,USUBJID,TRT01P,TRT01PN,RANDFL,ITTFL,SAFFL,EOSSTT\n"
    "S,1,Vehicle,0,Y,Y,Y,COMPLETED\n"
    "S,2,Serum,1,Y,Y,Y,COMPLETED\n"
    "S,3,Screen Failure,,N,N,N,\n"
    "S,4,Serum,1,N,N,N,DISCONTINUED\n"
)
#: Record 3 repeats subject 1's baseline; record 2 has a wrong BASE (41, not the baseline
#: AVAL 40); record 7 a wrong CHG and a day outside its window; parameter ELA has no
#: baseline record; record 8 is not selected (ANL01FL blank); record 9 is
#: LOCF; records 10-11 belong to a screen failure and to a subject not randomised.
BDS = (
    "USUBJID,PARAMCD,PARAM,AVISIT,AVISITN,ADY,AVAL,BASE,CHG,ABLFL,ANL01FL,DTYPE,AWLO,AWHI\n"
    "1,HYD,Hydration,Baseline,0,1,40,40,,Y,Y,,,1\n"
    "1,HYD,Hydration,Week 4,4,29,45,41,4,,Y,,2,42\n"
    "1,HYD,Hydration,Baseline,0,1,41,40,,Y,Y,,,1\n"
    "2,HYD,Hydration,Baseline,0,1,50,50,,Y,Y,,,1\n"
    "2,HYD,Hydration,Week 4,4,30,52,50,2,,Y,,2,42\n"
    "1,ELA,Elasticity,Week 4,4,29,0.7,0.5,0.2,,Y,,2,42\n"
    "2,ELA,Elasticity,Week 4,4,50,0.8,0.6,0.3,,Y,,2,42\n"
    "2,HYD,Hydration,Week 4,4,31,53,50,3,,,,2,42\n"
    "1,HYD,Hydration,Week 8,8,29,45,40,5,,Y,LOCF,43,\n"
    "3,HYD,Hydration,Baseline,0,1,44,44,,Y,Y,,,1\n"
    "4,HYD,Hydration,Baseline,0,1,44,44,,Y,Y,,,1\n"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "adsl.csv").write_text(ADSL, encoding="utf-8")
    (tmp_path / "adsk.csv").write_text(BDS, encoding="utf-8")
    return tmp_path


def test_selection_is_one_notice_and_screen_failures_are_not_randomised(folder) -> None:
    trial = read_adam(folder / "adsl.csv", folder / "adsk.csv")
    s = trial.subjects
    assert s["randomized"].tolist() == [True, True, False, False]
    assert s["arm"].tolist() == ["Vehicle", "Serum", pd.NA, "Serum"]
    assert trial.measurements.index.tolist() == [1, 2, 3, 4, 5, 6, 7]
    notices = trial.issues[trial.issues["kind"] == "excluded"]
    assert notices["problem"].tolist() == [
        "adsk.csv: 4 of 11 records left out (1 with ANL01FL not 'Y'; 1 with DTYPE LOCF "
        "(derived, not observed); 2 with subject not randomised or without a planned arm "
        "(ADSL))",
        "adsk.csv: ELA (Elasticity) has no baseline record (no record has ABLFL = 'Y'); "
        "change from baseline is undefined, so it is not analysed",
    ]
    assert [(e.id, e.analysable) for e in trial.manifest.data_endpoints] == [
        ("ela", False),
        ("hyd", True),
    ]
    assert trial.manifest.control_arms[0].id == "Vehicle"  # TRT01PN = 0
    assert trial.manifest.baseline_visit == "Baseline"
    # another analysis flag: every record has ANL02FL blank, so all are left out
    other = read_adam(folder / "adsl.csv", folder / "adsk.csv", analysis_flag="ABLFL")
    assert other.measurements.index.tolist() == [1, 3, 4]


def test_baseline_base_chg_and_window_are_checked(folder) -> None:
    trial = read_adam(folder / "adsl.csv", folder / "adsk.csv")
    problems = trial.issues[trial.issues["kind"] == "problem"]
    assert problems[["table", "column", "row", "value"]].values.tolist() == [
        ["ADSK", "ABLFL", 3, "Y"],
        ["ADSK", "BASE", 2, "41"],  # CHG 4 = 45 - 41 agrees with the BASE given
        ["ADSK", "CHG", 7, "0.3"],  # 0.8 - 0.6 = 0.2; row 6's 0.7 - 0.5 = 0.2 is right
        ["ADSK", "ADY", 7, "50"],
    ]
    text = problems["problem"].tolist()
    assert text[0] == (
        "adsk.csv row 3: ABLFL='Y' twice for 1 HYD (first at row 1); flag one baseline "
        "record per subject and parameter"
    )
    assert text[1] == (
        "adsk.csv row 2: BASE 41 for 1 HYD differs from AVAL of the subject's baseline "
        "record (ABLFL = 'Y'), 40; check the derivation"
    )
    assert text[3] == (
        "adsk.csv row 7: ADY 50 is outside the record's analysis window AWLO-AWHI 2-42 of "
        "AVISIT Week 4; check the windowing"
    )


def test_base_agrees_with_the_baseline_record(tmp_path: Path) -> None:
    (tmp_path / "adsl.csv").write_text(ADSL, encoding="utf-8")
    (tmp_path / "adsk.csv").write_text(
        "USUBJID,PARAMCD,AVISIT,AVAL,BASE,CHG,ABLFL\n"
        "1,HYD,Baseline,40,40,,Y\n1,HYD,Week 4,45,40,5,\n"
        "2,HYD,Baseline,50,50,,Y\n2,HYD,Week 4,52,51,1,\n",
        encoding="utf-8",
    )
    trial = read_adam(tmp_path / "adsl.csv", tmp_path / "adsk.csv")
    (problem,) = trial.issues.loc[trial.issues["kind"] == "problem", "problem"]
    assert problem == (
        "adsk.csv row 4: BASE 51 for 2 HYD differs from AVAL of the subject's baseline "
        "record (ABLFL = 'Y'), 50; check the derivation"
    )  # CHG 1 = 52 - 51 is consistent with the BASE given: one finding, not two


def test_adae_and_addv(folder) -> None:
    (folder / "adae.csv").write_text(
        "USUBJID,AEDECOD,AEBODSYS,AESEV,AESER,AEREL,ASTDY,TRTEMFL,AEACN,AESDTH,AEOUT\n"
        "1,Erythema,Skin disorders,MILD,N,POSSIBLE,3,Y,DOSE NOT CHANGED,N,RECOVERED\n"
        "2,Pruritus,Skin disorders,SEVERE,Y,NONE,10,Y,DRUG WITHDRAWN,N,\n"
        "2,Headache,Nervous system disorders,MODERATE,N,,1,,,,\n"
        "3,Death,General disorders,SEVERE,Y,REMOTE,5,Y,,Y,FATAL\n",
        encoding="utf-8",
    )
    (folder / "addv.csv").write_text(
        "USUBJID,DVCAT,DVTERM,DVSCAT,ADY\n1,Prohibited product,Used retinol,MAJOR,12\n"
        "2,Visit window,Week 4 late,MINOR,33\n",
        encoding="utf-8",
    )
    trial = read_adam(folder / "adsl.csv", adae=folder / "adae.csv", addv=folder / "addv.csv")
    ae = trial.adverse_events
    assert ae.index.tolist() == [1, 2]  # not treatment-emergent; not randomised
    assert ae[
        ["term", "pt", "soc", "severity", "serious", "related", "onset_day"]
    ].values.tolist() == [
        ["Erythema", "Erythema", "Skin disorders", "mild", False, True, 3],
        ["Pruritus", "Pruritus", "Skin disorders", "severe", True, False, 10],
    ]
    assert ae["led_to_discontinuation"].tolist() == [False, True]
    assert ae["fatal"].tolist() == [False, False]
    assert trial.issues.loc[trial.issues["table"] == "ADAE", "problem"].tolist() == [
        "adae.csv: 2 of 4 records left out of adverse_events (1 with TRTEMFL not 'Y' (not "
        "treatment-emergent); 1 with subject not randomised or without a planned arm (ADSL))"
    ]
    dv = trial.deviations
    assert dv[["subject_id", "category", "description", "major", "day"]].values.tolist() == [
        ["1", "Prohibited product", "Used retinol", True, 12],
        ["2", "Visit window", "Week 4 late", False, 33],
    ]
    assert trial.sources["deviations"].path == folder / "addv.csv"


def test_dataset_json_forms_read_alike(tmp_path: Path) -> None:
    meta = {
        "datasetJSONVersion": "1.1.0",
        "name": "ADSK",
        "records": 2,
        "columns": [
            {"itemOID": "IT.USUBJID", "name": "USUBJID", "dataType": "string"},
            {"itemOID": "IT.AVAL", "name": "AVAL", "dataType": "double"},
            {"itemOID": "IT.ADY", "name": "ADY", "dataType": "integer"},
        ],
    }
    rows = [["1", 40.25, 1], ["2", None, 29]]
    (tmp_path / "a.json").write_text(json.dumps({**meta, "rows": rows}), encoding="utf-8")
    ndjson = "\n".join(json.dumps(x) for x in [meta, *rows]) + "\n"
    (tmp_path / "a.ndjson").write_text(ndjson, encoding="utf-8")
    (tmp_path / "a.dsjc").write_bytes(gzip.compress(ndjson.encode()))
    frames = [read_adam_file(tmp_path / f"a.{ext}") for ext in ("json", "ndjson", "dsjc")]
    for data in frames:
        assert data.name == "ADSK"
        assert data.frame.to_dict("list") == {
            "USUBJID": ["1", "2"],
            "AVAL": ["40.25", None],
            "ADY": ["1", "29"],
        }
    assert [d.fmt for d in frames] == ["datasetjson", "ndjson", "dsjc"]
    (tmp_path / "bad.dsjc").write_bytes(b"not compressed")
    with pytest.raises(InputError, match=r"bad\.dsjc: not a zLib-compressed Dataset-NDJSON file"):
        read_adam_file(tmp_path / "bad.dsjc")


def test_folder_detection(tmp_path: Path) -> None:
    (tmp_path / "study_adsl.xpt").write_bytes(b"")
    (tmp_path / "adsl.json").write_text("{}", encoding="utf-8")
    (tmp_path / "adqs.parquet").write_bytes(b"")
    (tmp_path / "adqs.csv").write_text("", encoding="utf-8")
    (tmp_path / "define.xml").write_text("", encoding="utf-8")
    (tmp_path / "dataset.schema.json").write_text("{}", encoding="utf-8")
    found = find_adam_datasets(tmp_path)
    assert found is not None
    assert found.adsl.name == "study_adsl.xpt" and [p.name for p in found.others] == [
        "adqs.parquet"
    ]
    assert [(p.name, why) for p, why in found.ignored] == [
        ("adqs.csv", "adqs.parquet holds the same dataset"),
        ("adsl.json", "study_adsl.xpt holds the same dataset"),
    ]
    (tmp_path / "other_adsl.xpt").write_bytes(b"")
    with pytest.raises(InputError, match=r"other_adsl\.xpt and study_adsl\.xpt are both ADSL"):
        find_adam_datasets(tmp_path)


def test_read_input_routes(folder, tmp_path_factory) -> None:
    trial = read_input(folder)
    assert [a.id for a in trial.manifest.arms] == ["Vehicle", "Serum"]
    with pytest.raises(InputError, match="a single dataset file; give the folder"):
        read_input(folder / "adsl.csv")
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(InputError, match=r"no trial\.toml and no adsl\.\* dataset in this folder"):
        read_input(empty)
    # an ADaM bundle: trial.toml names the datasets and adds what data cannot show
    (folder / "trial.toml").write_text(
        '[trial]\nid = "SERUM-01"\ntitle = "Serum trial"\n'
        '[tables]\nadsl = "adsl.csv"\nbds = ["adsk.csv"]\n'
        '[adam]\ncontrol = "Serum"\nprimary = "HYD"\n'
        '[consort]\nfunding = "Sponsor X (report section 9)"\n',
        encoding="utf-8",
    )
    bundle = read_input(folder)
    m = bundle.manifest
    assert (m.id, m.title, m.path) == ("SERUM-01", "Serum trial", folder / "trial.toml")
    assert [a.id for a in m.control_arms] == ["Serum"]
    assert m.consort == {"funding": "Sponsor X (report section 9)"}
    assert [(e.id, e.role) for e in m.data_endpoints] == [("ela", "secondary"), ("hyd", "primary")]
    # the command line wins over the file
    assert [a.id for a in read_input(folder, control="Vehicle").manifest.control_arms] == [
        "Vehicle"
    ]
    (folder / "trial.toml").write_text(
        '[tables]\nadsl = "adsl.csv"\n[adam]\ncontroll = "Serum"\n', encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"\[adam\] keys \['controll'\] are not options"):
        read_input(folder)
    with pytest.raises(EfficacyError, match="primary='XX' is not a PARAMCD"):
        read_adam(folder / "adsl.csv", folder / "adsk.csv", primary="XX")


def test_scoring_and_analysis_rows_use_the_ablfl_baseline(folder) -> None:
    """ADaM parameters are scored in their own unit; baseline = the ABLFL record."""
    from efficacy.analysis._data_endpoints import data_endpoint_rows
    from efficacy.instruments import score_trial

    trial = read_input(folder)
    scored = score_trial(trial).endpoints
    hyd = scored[scored["endpoint"] == "hyd"].set_index(["subject_id", "visit"])
    assert hyd.loc[("2", "Week 4"), ["value", "baseline", "change"]].tolist() == [52, 50, 2]
    # subject 1's two ABLFL records (an error the reader reports) leave scoring no value
    assert hyd.loc[("1", "Baseline"), "reason"].startswith("2 readings (rows 1, 3) share")
    rows = data_endpoint_rows(trial)
    assert list(rows) == ["hyd"]  # ELA has no baseline record: not analysable
    post = rows["hyd"][rows["hyd"]["phase"] == "post_baseline"]
    assert post[["subject_id", "baseline", "change"]].values.tolist() == [
        ["1", 40.0, 5.0],  # baseline: row 1, the first of the two ABLFL records
        ["2", 50.0, 2.0],
    ]


def test_repeated_visit_records_are_found_without_a_body_site(folder) -> None:
    """m8: records ANL01FL would have dropped, kept with no flag, are each reported."""
    trial = read_adam(folder / "adsl.csv", folder / "adsk.csv", analysis_flag=None)
    repeats = trial.issues[trial.issues["column"] == "AVISIT"]
    assert repeats["row"].tolist() == [8]  # row 3 is reported once, as ABLFL set twice
    assert repeats["problem"].tolist()[0] == (
        "adsk.csv row 8: a second selected record for 2 HYD at AVISIT Week 4 (first at row "
        "5); flag one record per subject, parameter and visit for analysis (ANL01FL)"
    )
