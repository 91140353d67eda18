"""Real ADaM data no one here wrote, through the command line (issue 16).

The CDISC pilot folder (tests/reference/adam/pilot: ADSL and ADCIBC as XPT, ADADAS and
ADAE as compressed Dataset-JSON) and pharmaverseadam ADSL + ADBCVA go through
``efficacy validate``, ``analyze`` and ``report`` (the CLI's ``main`` in-process, run once
per module). The treatment differences are checked against a direct ``fit_mmrm`` on the
same records, selected here independently from the raw files (zlib + json, pyreadstat).
"""

from __future__ import annotations

import io
import json
import zlib
from contextlib import redirect_stderr, redirect_stdout
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import efficacy
from efficacy.cli import main

DATA = Path(__file__).resolve().parents[1] / "reference" / "adam"
PILOT = DATA / "pilot"
ARMS = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _dsjc(path: Path) -> pd.DataFrame:
    """Read compressed Dataset-JSON independently of efficacy (zlib + json).

    A fresh copy on every call of the frame :func:`_dsjc_once` reads once per file.
    """
    return _dsjc_once(path).copy()


@cache
def _dsjc_once(path: Path) -> pd.DataFrame:
    """:func:`_dsjc`'s frame (never handed out)."""
    lines = zlib.decompress(path.read_bytes(), wbits=47).splitlines()  # gzip framing
    meta = json.loads(lines[0])
    rows = [json.loads(line) for line in lines[1:] if line.strip()]
    return pd.DataFrame(rows, columns=[c["name"] for c in meta["columns"]])


@pytest.fixture(scope="module")
def itt_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default protocol with one efficacy population: half the fits, same model."""
    path = tmp_path_factory.mktemp("protocol") / "itt_only.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\npopulations = ["itt"]\n', encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def pilot_analysis(itt_only: Path) -> dict[str, Any]:
    code, out, err = _run("analyze", str(PILOT), "--format", "json", "--protocol", str(itt_only))
    assert (code, err) == (0, "")
    return json.loads(out)


@pytest.fixture(scope="module")
def pilot_validation() -> dict[str, Any]:
    code, out, _ = _run("validate", str(PILOT), "--format", "json")
    assert code == 1  # fails the cosmetic standard
    return json.loads(out)


@pytest.fixture(scope="module")
def pharmaverse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pharmaverse")
    for name in ("pharmaverseadam_adsl_derived.xpt", "pharmaverseadam_adbcva_derived.xpt"):
        (folder / name).symlink_to(DATA / name)
    return folder


def _estimate(result: dict[str, Any], endpoint: str, visit: str, arm: str) -> dict[str, Any]:
    (row,) = [
        r
        for r in result["estimates"]
        if (r["endpoint"], r["population"], r["visit"], r["active_arm"])
        == (endpoint, "itt", visit, arm)
    ]
    return row


def _direct(records: pd.DataFrame, arms: list[str], visits: list[str]) -> pd.DataFrame:
    d = records.assign(
        arm=pd.Categorical(records["arm"], categories=arms),
        visit=pd.Categorical(records["visit"], categories=visits),
    )
    fit = efficacy.fit_mmrm(
        d,
        "change ~ baseline + arm * visit",
        subject="subject_id",
        visit="visit",
        covariance="us",
        df="kenward-roger",
    )
    return fit.contrast("arm", by="visit", method="reference")


def _check(ours: dict[str, Any], theirs: pd.Series) -> None:
    for key in ("estimate", "std_error", "df", "conf_low", "conf_high", "p_value"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-10, abs=1e-300), key


def test_adas_cog_week24_equals_direct_fit(pilot_analysis) -> None:
    """ADAS-Cog(11) week 24, each dose against placebo: analyze == fit_mmrm to 1e-10."""
    adsl = pyreadstat.read_xport(str(PILOT / "adsl.xpt"))[0]
    adas = _dsjc(PILOT / "adadas.dsjc")
    itt = adsl.loc[adsl["ITTFL"] == "Y", ["USUBJID", "TRT01P"]]
    sel = adas[
        (adas["PARAMCD"] == "ACTOT")
        & (adas["ANL01FL"] == "Y")
        & adas["DTYPE"].fillna("").eq("")
        & (adas["ABLFL"] != "Y")
    ].merge(itt, on="USUBJID")
    records = pd.DataFrame(
        {
            "subject_id": sel["USUBJID"],
            "arm": sel["TRT01P"],
            "visit": sel["AVISIT"],
            "baseline": sel["BASE"].astype(float),
            "change": sel["AVAL"].astype(float) - sel["BASE"].astype(float),
        }
    )
    ref = _direct(records, ARMS, ["Week 8", "Week 16", "Week 24"])
    for arm in ARMS[1:]:
        theirs = ref.loc[(ref["visit"] == "Week 24") & (ref["contrast"] == f"{arm} - Placebo")]
        ours = _estimate(pilot_analysis, "actot", "Week 24", arm)
        _check(ours, theirs.iloc[0])
        assert ours["comparison"] == f"{arm} vs Placebo"
    low = _estimate(pilot_analysis, "actot", "Week 24", "Xanomeline Low Dose")
    assert low["estimate"] == pytest.approx(-0.8277, abs=5e-5)  # the CLI's text summary
    assert (low["n_active"], low["n_control"]) == (
        int(
            records.loc[(records["visit"] == "Week 24") & (records["arm"] == ARMS[1]), "change"]
            .notna()
            .sum()
        ),
        int(
            records.loc[(records["visit"] == "Week 24") & (records["arm"] == "Placebo"), "change"]
            .notna()
            .sum()
        ),
    )


def test_pilot_analysis_plan(pilot_analysis) -> None:
    """Every ADADAS parameter (15) analysed; CIBIC+ not (no baseline)."""
    est = pd.DataFrame(pilot_analysis["estimates"])
    assert pilot_analysis["status"] == "analysed"
    assert sorted(est["endpoint"].unique()) == [f"acitm{i:02d}" for i in range(1, 15)] + ["actot"]
    assert "cibicval" not in set(est["endpoint"])
    assert set(est["population"]) == {"itt"}
    assert set(est["role"]) == {"secondary"}  # no primary named: none guessed
    assert set(est["control_arm"]) == {"Placebo"}
    assert pilot_analysis["notes"][0] == (
        "the protocol's endpoints are not in the data: the 15 parameters with baseline "
        "records are analysed with the protocol's model, none named primary (all "
        "secondary); not analysed (no baseline record): ADCIBC PARAMCD CIBICVAL"
    )
    models = pd.DataFrame(pilot_analysis["models"])
    assert (models["covariance"] == "us").all() and len(models) == 15


def test_pilot_validation_speaks_adam(pilot_validation) -> None:
    f = pd.DataFrame(pilot_validation["findings"])
    errors = f[f["severity"] == "error"]
    # the dementia trial fails the cosmetic standard: its five instrument requirements
    assert sorted(errors.loc[errors["category"] == "standard", "rule_id"]) == [
        "ISO-ELAST",
        "ISO-FACEQ",
        "ISO-HYD",
        "ISO-SKINDEX",
        "ISO-WRINKLE",
    ]
    # one notice per ADaM parameter instead of an error per record (562 before)
    sch005 = f[f["rule_id"] == "SCH-005"]
    assert len(sch005) == 16 and set(sch005["severity"]) == {"notice"}
    assert "ADADAS PARAMCD ACTOT (Adas-Cog(11) Subscore) is not a catalogue endpoint" in set(
        m.split(":")[0] for m in sch005["message"]
    )
    # CIBIC+: one notice, never a post-baseline visit as baseline
    cibic = f[(f["rule_id"] == "SCH-013") & (f["column"] == "ABLFL")]
    assert cibic[["table", "severity"]].values.tolist() == [["ADCIBC", "notice"]]
    left = f[(f["rule_id"] == "SCH-013") & (f["table"] == "ADADAS")]
    assert left["message"].tolist() == [
        "adadas.dsjc: 582 of 12463 records left out (360 with ANL01FL not 'Y'; 222 with "
        "DTYPE LOCF (derived, not observed))"
    ]
    # row-level findings name the dataset, the variable and the record in its file
    empty = f[f["rule_id"] == "INT-009"].iloc[0]
    assert (empty["table"], empty["column"], empty["row"]) == ("ADADAS", "AVAL", 347)
    adas = _dsjc(PILOT / "adadas.dsjc")
    assert adas.loc[346, "USUBJID"] == empty["subject_id"] and pd.isna(adas.loc[346, "AVAL"])
    # no bundle fixes (column headers, [tables] entries) for ADaM input
    assert not f["message"].str.contains(r"column headed|\[tables\]|add it to").any()
    consort = f.loc[f["rule_id"] == "CON-005", "message"].iloc[0]
    assert consort == (
        "[consort] registration_id is not attested; attest it in a trial.toml beside the "
        "ADaM datasets ([consort] section) (say where it is reported)"
    )
    assert pilot_validation["rules"]["INT-004"]["status"] == "not_applicable"


def test_pilot_report(pilot_analysis, itt_only, tmp_path_factory) -> None:
    out = tmp_path_factory.mktemp("report")
    protocol = itt_only
    code, stdout, _ = _run(
        "report",
        str(PILOT),
        "--out",
        str(out / "r"),
        "--format",
        "json",
        "--protocol",
        str(protocol),
    )
    assert code == 1 and "verdict: does not conform" in stdout
    report = json.loads((out / "r" / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"]["overall"] == "does not conform"
    # no primary named: no estimand (it described the protocol's Cutometer R2 before)
    assert report["estimands"]["status"] == "none" and report["estimands"]["estimands"] == []
    inputs = {i["file"]: i["role"] for i in report["title_block"]["inputs"]}
    assert inputs == {
        "adsl.xpt": "subjects",
        "adadas.dsjc": "measurements",
        "adcibc.xpt": "measurements",
        "adae.dsjc": "adverse_events",
        "itt_only.toml": "protocol",  # the protocol file the report was built under
    }
    summary = report["harms"]["summary"]
    cells = {r["label"]: r["cells"]["TOTAL"]["text"] for r in summary}
    # ADAE, treatment-emergent (TRTEMFL = 'Y'): 1126 events in 218 of 254 subjects
    assert cells["Any adverse event"] == "218 (85.8) [1126]"
    assert cells["Serious adverse event"] == "3 (1.2) [3]"
    summary = report["efficacy"]["result"]["summary"]
    ours = [r for r in summary if (r["endpoint"], r["visit"]) == ("actot", "Week 24")]
    assert len(ours) == 2
    for r in ours:  # the report shows the numbers `efficacy analyze` gives
        arm = r["comparison"].split(" vs ")[0]
        theirs = _estimate(pilot_analysis, "actot", "Week 24", arm)
        assert r["estimate"] == pytest.approx(theirs["estimate"], rel=1e-12)


def test_pharmaverse_bcva_equals_direct_fit(pharmaverse, itt_only) -> None:
    code, out, err = _run(
        "analyze", str(pharmaverse), "--format", "json", "--protocol", str(itt_only)
    )
    assert (code, err) == (0, "")
    result = json.loads(out)
    adsl = pyreadstat.read_xport(str(DATA / "pharmaverseadam_adsl_derived.xpt"))[0]
    bcva = pyreadstat.read_xport(str(DATA / "pharmaverseadam_adbcva_derived.xpt"))[0]
    # randomised: RANDDT present and a planned arm (52 screen failures are not)
    rand = adsl.loc[adsl["RANDDT"].notna() & (adsl["TRT01P"] != "Screen Failure")]
    assert len(rand) == 254
    sel = bcva[(bcva["PARAMCD"] == "SBCVA") & (bcva["ANL01FL"] == "Y") & (bcva["ABLFL"] != "Y")]
    sel = sel[sel["USUBJID"].isin(rand["USUBJID"])]
    records = pd.DataFrame(
        {
            "subject_id": sel["USUBJID"],
            "arm": sel["USUBJID"].map(rand.set_index("USUBJID")["TRT01P"]),
            "visit": sel["AVISIT"],
            "baseline": sel["BASE"],
            "change": sel["AVAL"] - sel["BASE"],
        }
    )
    np.testing.assert_allclose(records["change"], sel["CHG"], rtol=0, atol=1e-12)
    visits = [
        "Week 4",
        "Week 6",
        "Week 8",
        "Week 10 (T)",
        "Week 12",
        "Week 16",
        "Week 20",
        "Week 24",
    ]
    assert set(records["visit"]) == set(visits)
    arms = ["Placebo", "Xanomeline High Dose", "Xanomeline Low Dose"]  # file order
    ref = _direct(records, arms, visits)
    for arm in arms[1:]:
        theirs = ref.loc[(ref["visit"] == "Week 24") & (ref["contrast"] == f"{arm} - Placebo")]
        _check(_estimate(result, "sbcva", "Week 24", arm), theirs.iloc[0])


def test_unknown_control_is_a_usage_error(tmp_path: Path) -> None:
    arms = {
        "1": "Cream A",
        "2": "Cream A",
        "3": "Cream A",
        "4": "Cream B",
        "5": "Cream B",
        "6": "Cream B",
    }
    (tmp_path / "adsl.csv").write_text(
        "STUDYID,USUBJID,TRT01P,ITTFL\n"
        + "".join(f"S,{sid},{arm},Y\n" for sid, arm in arms.items()),
        encoding="utf-8",
    )
    values = {"1": (3, 5), "2": (4, 5), "3": (2, 5), "4": (3, 3), "5": (5, 4), "6": (1, 2)}
    (tmp_path / "adxx.csv").write_text(
        "USUBJID,PARAMCD,AVAL,AVISIT,ABLFL\n"
        + "".join(
            f"{sid},P,{b},Baseline,Y\n{sid},P,{w},Week 4,\n" for sid, (b, w) in values.items()
        ),
        encoding="utf-8",
    )
    code, out, err = _run("analyze", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == (
        "efficacy: error: S: which arm is the control? no arm has TRT01PN = 0 or a name "
        "with placebo, vehicle or control; name it with --control ARM (one of 'Cream A', "
        "'Cream B')\n"
    )
    code, out, err = _run(
        "analyze", str(tmp_path), "--control", "Cream B", "--force", "--format", "json"
    )
    assert code == 0
    (row,) = [r for r in json.loads(out)["estimates"] if r["population"] == "itt"]
    assert (row["active_arm"], row["control_arm"]) == ("Cream A", "Cream B")
    # change ~ baseline + arm at one visit is ANCOVA: estimate from least squares
    x = np.array([[1, b, sid in "123"] for sid, (b, _) in values.items()], dtype=float)
    y = np.array([w - b for b, w in values.values()], dtype=float)
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    assert row["estimate"] == pytest.approx(beta[2], rel=1e-8)


def test_pilot_two_doses_synopsis_names_both_comparisons(itt_only) -> None:
    """The CDISC pilot compares two xanomeline doses with placebo: with ADAS-Cog named as
    the primary endpoint, the report's synopsis gives both comparisons, each labelled,
    with the analysis' numbers; ``primary()`` asks which dose."""
    from efficacy.errors import EfficacyError
    from efficacy.report import build_report

    trial = efficacy.read_adam(
        PILOT / "adsl.xpt", PILOT / "adadas.dsjc", control="Placebo", primary="ACTOT"
    )
    analysis = efficacy.analyze(trial, efficacy.load_protocol(itt_only))
    rows = analysis.to_frame()
    rows = rows[(rows["role"] == "primary") & (rows["estimand"].fillna("") != "")]
    assert rows["comparison"].tolist() == [
        "Xanomeline Low Dose vs Placebo",
        "Xanomeline High Dose vs Placebo",
    ]
    report = build_report(trial, analysis=analysis)
    data = report.data
    # ADAS-Cog has no unit: the tipping-point grid says "Delta", not "Delta ()"
    html = report.to_html()
    assert '<th class="r">Delta</th>' in html and "Delta ()" not in html
    # the estimand the analysis estimated, ADAS-Cog's; not the protocol's Cutometer R2
    assert [
        (e["id"], e["endpoint"], e["role"], e["visit"]) for e in data["estimands"]["estimands"]
    ] == [("primary", "actot", "primary", "Week 24")]
    assert [(e.id, e.endpoint) for e in analysis.estimands] == [("primary", "actot")]
    # section 5 tabulates the data's parameters at baseline (it was an empty table): the
    # mean (SD) of each arm's ADAS-Cog baseline, computed here from the measurements
    (endpoints,) = [t for t in data["baseline"]["tables"] if t["id"] == "endpoints"]
    assert endpoints["rows"][0]["label"] == "actot, no unit (primary)"
    (stat,) = [r for r in endpoints["rows"][:5] if r["label"] == "Mean (SD)"]
    m = trial.measurements
    base = m[(m["endpoint"] == "actot") & (m["visit"] == "Baseline")]
    arms = trial.subjects.set_index("subject_id")["arm"]
    by_arm = base.assign(arm=base["subject_id"].map(arms)).groupby("arm")["value"]
    assert sorted(by_arm.groups) == sorted(set(stat["cells"]) - {"TOTAL"})  # three arms
    for arm, values in by_arm:
        cell = stat["cells"][arm]
        assert cell["mean"] == pytest.approx(values.mean(), abs=1e-8)
        assert cell["sd"] == pytest.approx(values.std(ddof=1), abs=1e-8)
    tables = {t["id"]: t for t in data["synopsis"]["tables"]}
    results = tables["synopsis_results"]
    assert results["header"][:2] == ["Endpoint", "Comparison"]
    assert [r[1] for r in results["rows"]] == rows["comparison"].tolist()
    # no key secondary endpoint: no p is adjusted (the note said "family of each
    # comparison ()." before)
    assert results["footnotes"] == [
        "Difference in LS mean change from baseline, active minus control. Adjusted p: none "
        "(the plan has no key secondary endpoint). Each comparison with control is tested at "
        "the full alpha; the comparisons are not adjusted for one another."
    ]
    primary = dict(tables["synopsis"]["rows"])["Primary result"].split("; ")
    for text, row in zip(primary, rows.itertuples(), strict=True):
        dose = row.comparison.replace(" vs ", " minus ")
        assert text.startswith(f"actot: difference ({dose}) in mean change from baseline")
        assert f"{row.estimate:.1f}".replace("-", "\u2212") in text
    with pytest.raises(EfficacyError, match="compares 2 active arms"):
        analysis.primary("itt")
    assert (
        analysis.primary("itt", arm="Xanomeline High Dose")["estimate"] == rows["estimate"].iloc[1]
    )
