"""``efficacy export``: analysis datasets that read back to the same analysis."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

import efficacy
from efficacy.cli import main
from efficacy.io import analysis_datasets, read_dataset
from efficacy.io.datasets import dataset_bytes
from efficacy.io.export import PARAMCDS
from tests.io.bundle_factory import SUBJECTS_CSV, TABLE_TEXTS, write_bundle

PRIMARY_ONLY = """\
extends = "iso-efficacy-2025"
[analysis]
key_secondary = []
secondary = []
[analysis.sensitivity]
tipping_point = false
"""
COMPARED = ["estimate", "std_error", "df", "conf_low", "conf_high", "p_value", "effect_size"]


def _values(series: pd.Series) -> list[object]:
    return series.astype(object).where(series.notna(), None).tolist()


def test_xpt_export_reads_back_to_the_same_primary_mmrm(tmp_path: Path, samples) -> None:
    """parallel_12wk -> ADSL + ADEFF (XPT v5) -> read_adam -> the primary MMRM, unchanged."""
    trial = samples.trial("parallel_12wk")
    reference = samples.analysis("parallel_12wk")
    sets = analysis_datasets(trial, samples.protocol, scored=reference.scored)
    for name, data in sets.items():
        (tmp_path / f"{name.lower()}.xpt").write_bytes(
            dataset_bytes(data.frame, data.metadata, "xpt")
        )
    codes = set(sets["ADEFF"].frame["PARAMCD"])
    back = efficacy.read_adam(
        tmp_path / "adsl.xpt",
        tmp_path / "adeff.xpt",
        endpoints={code: e for e, code in PARAMCDS.items() if code in codes},
    )
    assert back.manifest.baseline_visit == "W0"
    assert [(v.id, v.week, v.window_days) for v in back.manifest.visits] == [
        (v.id, v.week, v.window_days) for v in trial.manifest.visits
    ]
    (tmp_path / "primary.toml").write_text(PRIMARY_ONLY, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # force: the re-read ADaM carries the PRO scale scores as BDS parameters, which
        # the bundle rules SCH-005/006/011 do not know (the ADaM reader's work, issue 16)
        got = efficacy.analyze(back, efficacy.load_protocol(tmp_path / "primary.toml"), force=True)
    ref = reference.to_frame()
    ref = ref[(ref["endpoint"] == "cutometer_r2") & (ref["analysis"] == "mmrm")]
    new = got.to_frame()
    new = new[(new["endpoint"] == "cutometer_r2") & (new["analysis"] == "mmrm")]
    keys = ["population", "visit", "comparison", "n_active", "n_control"]
    assert len(ref) == 8
    assert new[keys].reset_index(drop=True).equals(ref[keys].reset_index(drop=True))
    for column in COMPARED:
        for a, b in zip(new[column], ref[column], strict=True):
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-10), column


def _small_bundle(tmp_path: Path, subjects: str = SUBJECTS_CSV) -> Path:
    return write_bundle(tmp_path / "bundle", texts={**TABLE_TEXTS, "subjects": subjects})


def test_cli_exports_dataset_json_with_adam_days_and_flags(tmp_path: Path, capsys) -> None:
    bundle = _small_bundle(tmp_path)
    out = tmp_path / "out"
    assert main(["export", str(bundle), "--out", str(out), "--format", "json"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {out / 'adsl.json'} (json)",
        f"wrote {out / 'adeff.json'} (json)",
    ]
    adsl, meta, problems = read_dataset(out / "adsl.json")
    assert problems == () and meta.name == "ADSL" and meta.column("USUBJID").key_sequence == 2
    assert _values(adsl["USUBJID"]) == ["S001", "S002", "S003"]
    assert _values(adsl["TRT01P"]) == ["ACTIVE", "VEHICLE", ""]
    assert _values(adsl["TRT01PN"]) == [1, 0, None]
    assert _values(adsl["RANDFL"]) == ["Y", "Y", "N"]
    assert _values(adsl["PPROTFL"]) == ["Y", "N", "N"]
    assert _values(adsl["EOSSTT"]) == ["COMPLETED", "DISCONTINUED", ""]
    assert _values(adsl["DCDECOD"]) == ["COMPLETED", "DISCONTINUED", "SCREEN FAILURE"]
    assert _values(adsl["DCSREAS"]) == ["", "moved away", "inclusion criteria not met"]
    assert _values(adsl["RANDDT"])[0] == pd.Timestamp("2025-01-15")
    adeff, emeta, problems = read_dataset(out / "adeff.json")
    assert problems == ()
    assert emeta.column("PARAMCD").length <= 8
    columns = ["USUBJID", "PARAMCD", "AVISIT", "AVISITN", "ADY", "AWTARGET", "AWLO", "AWHI"]
    # ADY: study day 85 -> 86 (ADaM has no day 0); W12 window 84 +- 7 days -> 85 +- 7
    assert [tuple(r) for r in adeff[columns].itertuples(index=False)] == [
        ("S001", "CUTR2", "W0", 0, 1, 1, 1, 1),
        ("S001", "CUTR2", "W12", 12, 86, 85, 78, 92),
        ("S001", "SKXSYMP", "W0", 0, 1, 1, 1, 1),
        ("S001", "SKXEMOT", "W0", 0, 1, 1, 1, 1),
        ("S001", "SKXFUNC", "W0", 0, 1, 1, 1, 1),
        ("S002", "CORNEO", "W0", 0, 1, 1, 1, 1),
        ("S002", "CORNEO", "W12", 12, 84, 85, 78, 92),
    ]
    # Skindex-16 of S001 is not scorable (one item answered): records kept, AVAL missing
    assert _values(adeff["AVAL"]) == [0.61, 0.68, None, None, None, 45.25, None]
    assert _values(adeff["CHG"]) == [None, pytest.approx(0.07), None, None, None, None, None]
    assert _values(adeff["ABLFL"]) == ["Y", "", "", "", "", "Y", ""]
    assert _values(adeff["ANL01FL"]) == ["Y", "Y", "", "", "", "Y", ""]
    assert _values(adeff["PARAM"])[0] == "Cutometer R2 (gross elasticity, Ua/Uf) (ratio)"


def test_cli_reexports_an_adam_folder(tmp_path: Path) -> None:
    bundle = _small_bundle(tmp_path)
    assert main(["export", str(bundle), "--out", str(tmp_path / "x")]) == 0
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["adeff.xpt", "adsl.xpt"]
    assert (
        main(["export", str(tmp_path / "x"), "--out", str(tmp_path / "y"), "--format", "dsjc"]) == 0
    )
    first, _, _ = read_dataset(tmp_path / "x" / "adsl.xpt")
    again, _, problems = read_dataset(tmp_path / "y" / "adsl.dsjc")
    assert problems == ()
    for name in ("USUBJID", "TRT01P", "RANDFL", "ITTFL", "PPROTFL", "SAFFL", "AGE", "SEX"):
        assert _values(again[name]) == _values(first[name]), name


def test_cli_refuses_what_xpt_cannot_hold(tmp_path: Path, capsys) -> None:
    bundle = _small_bundle(tmp_path, SUBJECTS_CSV.replace("moved away", "déménagé"))
    out = tmp_path / "out"
    assert main(["export", str(bundle), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "efficacy: error: cannot export as SAS XPORT v5: ADSL.DCSREAS: value 'déménagé' is "
        "not ASCII (XPT v5 holds ASCII text); transliterate it; or export as Dataset-JSON "
        "(--format json)\n"
    )
    assert not out.exists() or not any(out.iterdir())
    assert main(["export", str(bundle), "--out", str(out), "--format", "ndjson"]) == 0


def test_cli_never_writes_into_its_input_folder(tmp_path: Path, capsys) -> None:
    bundle = _small_bundle(tmp_path)
    assert main(["export", str(bundle), "--out", str(tmp_path / "x")]) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "x").iterdir()}
    assert main(["export", str(tmp_path / "x"), "--out", str(tmp_path / "x")]) == 2
    assert "is the input folder; choose another folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (tmp_path / "x").iterdir()} == before


def test_cli_names_a_folder_that_is_neither(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "neither a trial bundle (no trial.toml) nor an ADaM folder" in capsys.readouterr().err


def test_split_face_records_carry_the_site_treatment(samples) -> None:
    sets = analysis_datasets(samples.trial("split_face_12wk"), samples.protocol)
    adsl, adeff = sets["ADSL"].frame, sets["ADEFF"].frame
    assert adsl.loc[1, "TRT01P"] == "left_cheek=ACTIVE;right_cheek=VEHICLE"
    assert adsl["TRT01PN"].isna().all()
    first = adeff.loc[adeff["USUBJID"] == "S0001", ["ALOC", "TRTP"]].drop_duplicates()
    assert [tuple(r) for r in first.itertuples(index=False)] == [
        ("left_cheek", "ACTIVE"),
        ("right_cheek", "VEHICLE"),
        ("", ""),  # person-level PRO scores: no site, no site treatment
    ]
