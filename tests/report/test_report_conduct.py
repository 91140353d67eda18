"""Report: analysis populations, protocol deviations, harms (CONSORT Harms 2022), synopsis.

Counts are checked against the sample bundles' CSV files read independently with pandas;
absent tables must read "not supplied", never a table of zeros.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest

from efficacy.io import read_adam
from efficacy.report import build_report
from efficacy.report.conduct import (
    DEVIATIONS_NOT_SUPPLIED,
    NOT_RECORDED,
    deviation_section,
    population_section,
)
from efficacy.report.harms import NOT_SUPPLIED, harms_tables

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
ADAM = ROOT / "tests" / "reference" / "adam"


def _subjects(name: str) -> pd.DataFrame:
    s = pd.read_csv(SAMPLES / name / "subjects.csv", dtype=str, keep_default_na=False)
    s = s.loc[s["randomized"] == "true"].copy()
    s["group"] = s.get("arm", "ALL")
    return s


@pytest.mark.parametrize("name", ["parallel_12wk", "split_face_12wk"])
def test_population_counts_add_up(samples, name: str) -> None:
    pops = samples.report(name, analysed=False).data["populations"]
    s = _subjects(name)
    out = s.loc[s["per_protocol"] != "true"]
    assert pops["status"] == "recorded"
    for key, g in s.groupby("group"):
        c = pops["counts"][key]
        n_pp = int((g["per_protocol"] == "true").sum())
        assert (c["randomised"], c["per_protocol"], c["excluded"]) == (len(g), n_pp, len(g) - n_pp)
        assert c["randomised"] == c["per_protocol"] + c["excluded"]
        assert sum(r["counts"][key] for r in pops["reasons"]) == c["excluded"]
    expected = out.groupby(["pp_exclusion_reason", "group"]).size().to_dict()
    shown = {(r["reason"], k): n for r in pops["reasons"] for k, n in r["counts"].items() if n}
    assert shown == expected
    assert NOT_RECORDED not in {r["reason"] for r in pops["reasons"]}
    assert sorted(e["subject_id"] for e in pops["excluded"]) == sorted(out["subject_id"])
    if name == "parallel_12wk":  # the review's example: 10 and 6 excluded, 2 + 4 completers
        assert [pops["counts"][a]["excluded"] for a in ("ACTIVE", "VEHICLE")] == [10, 6]
        done = next(d for d in pops["by_disposition"] if d["disposition"] == "completed")
        assert done["counts"] == {"ACTIVE": 2, "VEHICLE": 4}
        table = pops["tables"][0]
        assert table["header"] == ["Population", "ACTIVE (N=60)", "VEHICLE (N=60)"]
        assert table["rows"][4] == ["Excluded from per protocol", "10 (16.7)", "6 (10.0)"]


def test_reasons_fall_back_to_major_deviations_then_not_recorded(samples) -> None:
    trial = samples.trial("parallel_12wk")
    s = trial.subjects.copy()
    s["pp_exclusion_reason"] = pd.NA  # no recorded reasons: deviations explain completers
    dev = trial.deviations
    dropped = "S0026"  # a completer excluded for a major deviation: its row removed
    trial = dataclasses.replace(trial, subjects=s, deviations=dev.loc[dev["subject_id"] != dropped])
    pops = population_section(trial)
    reasons = {e["subject_id"]: e["reason"] for e in pops["excluded"]}
    sources = {e["subject_id"]: e["source"] for e in pops["excluded"]}
    assert reasons[dropped] == NOT_RECORDED and sources[dropped] == "none"
    assert reasons["S0034"] == "major protocol deviation: prohibited product use"
    assert sources["S0034"] == "deviations (major)"
    # non-completers have no deviation: their exclusion is shown, reason not recorded
    assert reasons["S0004"] == NOT_RECORDED
    for key in ("ACTIVE", "VEHICLE"):
        c = pops["counts"][key]
        assert sum(r["counts"][key] for r in pops["reasons"]) == c["excluded"]
    last = pops["reasons"][-1]  # "reason not recorded" is last, never dropped
    assert last["reason"] == NOT_RECORDED and last["counts"] == {"ACTIVE": 9, "VEHICLE": 2}


def test_deviation_summary_matches_the_csv(samples) -> None:
    data = samples.report("parallel_12wk", analysed=False).data["deviations"]
    dev = pd.read_csv(SAMPLES / "parallel_12wk" / "deviations.csv")
    arm = _subjects("parallel_12wk").set_index("subject_id")["group"]
    dev["group"] = dev["subject_id"].map(arm)
    rows = {(r["label"], r["major"]): r["cells"] for r in data["summary"]}
    for key, g in dev.groupby("group"):
        cell = rows[("Any protocol deviation", False)][key]
        assert (cell["n"], cell["deviations"], cell["N"]) == (g["subject_id"].nunique(), len(g), 60)
        for cat, gc in g.loc[g["major"]].groupby("category"):
            cell = rows[(cat, True)][key]
            assert (cell["n"], cell["deviations"]) == (gc["subject_id"].nunique(), len(gc))
    major = dev.loc[dev["major"]].sort_values(["subject_id", "day"])
    assert [(d["subject_id"], d["category"], d["day"]) for d in data["major"]] == list(
        zip(major["subject_id"], major["category"], major["day"], strict=True)
    )
    listing = data["tables"][1]
    assert listing["header"] == ["Participant", "Group", "Category", "Description", "Day"]
    assert len(listing["rows"]) == 6


def test_absent_tables_are_not_supplied_never_zeros(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(SAMPLES / "parallel_12wk", bundle)
    toml = (bundle / "trial.toml").read_text(encoding="utf-8")
    toml = toml.replace('adverse_events = "adverse_events.csv"\n', "")
    toml = toml.replace('deviations = "deviations.csv"\n', "")
    (bundle / "trial.toml").write_text(toml, encoding="utf-8")
    (bundle / "adverse_events.csv").unlink()
    (bundle / "deviations.csv").unlink()
    from efficacy.io import read_trial

    report = build_report(read_trial(bundle))
    harms, dev = report.data["harms"], report.data["deviations"]
    assert (harms["status"], harms["message"], harms["tables"]) == (
        "not supplied",
        NOT_SUPPLIED,
        [],
    )
    assert (dev["status"], dev["message"], dev["tables"]) == (
        "not supplied",
        DEVIATIONS_NOT_SUPPLIED,
        [],
    )
    assert report.data["synopsis"]["harms"] == "not supplied (no adverse_events table)"
    page = report.to_html()
    harms_html = page[page.index('<h2 id="s8">') : page.index('<h2 id="s9">')]
    assert "0 (0.0)" not in harms_html and "Not supplied" in harms_html


def test_adam_without_adae_has_no_harms_zeros() -> None:
    """The CDISC pilot read without ADAE: harms not supplied (was 'Any AE 0 (0.0)')."""
    trial = read_adam(ADAM / "cdiscpilot01_adsl.xpt", ADAM / "cdiscpilot01_adqscibc.xpt")
    harms = harms_tables(trial)
    assert harms["status"] == "not supplied" and harms["tables"] == []
    assert deviation_section(trial)["status"] == "not supplied"


def test_harms_listings_and_coding(samples) -> None:
    harms = samples.report("parallel_12wk", analysed=False).data["harms"]
    ae = pd.read_csv(SAMPLES / "parallel_12wk" / "adverse_events.csv")
    serious = ae.loc[ae["serious"]]
    assert [(e["subject_id"], e["term"]) for e in harms["serious"]] == list(
        zip(serious["subject_id"], serious["pt"], strict=True)
    )  # S0147 appendicitis
    led = ae.loc[ae["led_to_discontinuation"]].sort_values("subject_id")
    assert [e["subject_id"] for e in harms["discontinued"]] == list(led["subject_id"])
    assert harms["deaths"] == [] and harms["deaths_recorded"]
    ids = [t["id"] for t in harms["tables"]]
    assert ids == [
        "harms_summary",
        "harms_soc_pt",
        "harms_severity",
        "harms_relatedness",
        "harms_body_site",
        "harms_serious_listing",
        "harms_discontinuation_listing",
        "harms_deaths_listing",
    ]
    # SOC totals: participants with an event in the class, from the CSV
    arm = _subjects("parallel_12wk").set_index("subject_id")["group"]
    ae["group"] = ae["subject_id"].map(arm)
    soc = next(r for r in harms["by_soc_pt"] if r["label"] == "Skin and application site [SIM]")
    skin = ae.loc[ae["soc"] == "Skin and application site [SIM]"]
    for key, g in skin.groupby("group"):
        assert soc["cells"][key]["n"] == g["subject_id"].nunique()
        assert soc["cells"][key]["events"] == len(g)
    # worst severity: each participant once, so the rows add up to "any adverse event"
    anyae = next(r for r in harms["summary"] if r["label"] == "Any adverse event")
    assert (
        sum(r["cells"]["TOTAL"]["n"] for r in harms["by_severity"]) == anyae["cells"]["TOTAL"]["n"]
    )


def test_synopsis_reads_the_result_rows(samples) -> None:
    report = samples.report("parallel_12wk")
    result = samples.analysis("parallel_12wk")
    syn = report.data["synopsis"]
    primary = result.primary("itt")
    first = syn["results"][0]
    assert first["estimand"] == "primary" and first["role"] == "primary"
    for k in ("estimate", "conf_low", "conf_high", "p_value"):
        assert first[k] == pytest.approx(float(primary[k]), rel=1e-12)
    f = result.to_frame()
    keys = f.loc[f["estimand"].str.startswith("key_secondary:") & (f["population"] == "itt")]
    assert [r["p_adjusted"] for r in syn["results"][1:]] == pytest.approx(
        list(keys["p_adjusted"]), rel=1e-12
    )
    assert [q["id"] for q in syn["verdict"]["requirements"]] == [
        q["id"] for q in report.data["verdict"]["requirements"]
    ]
    about = dict(syn["tables"][0]["rows"])
    assert about["Populations"].startswith("randomised 120 (ACTIVE 60, VEHICLE 60)")
    assert "per protocol 104 (ACTIVE 50, VEHICLE 54) (excluded 16" in about["Populations"]
    page = samples.html("parallel_12wk")  # report.to_html(), rendered once per session
    assert page.index('id="s0"') < page.index('id="s1"')  # first


def test_uncoded_harms_fall_back_to_terms_and_reasons(samples) -> None:
    """Without soc/pt/led_to_discontinuation/fatal: by reported term, no deaths row."""
    trial = samples.trial("parallel_12wk")
    quiet = ("soc", "pt", "led_to_discontinuation", "fatal")
    src = dataclasses.replace(trial.sources["adverse_events"], missing_columns=quiet)
    ae = trial.adverse_events.assign(**dict.fromkeys(quiet, None))
    trial = dataclasses.replace(
        trial, sources={**trial.sources, "adverse_events": src}, adverse_events=ae
    )
    harms = harms_tables(trial)
    assert not harms["coded"] and harms["deaths"] is None
    assert [t["id"] for t in harms["tables"]][:2] == ["harms_summary", "harms_term"]
    assert [r["label"] for r in harms["summary"]][-1] == "Leading to discontinuation"
    # the discontinuation reasons name the same two contact dermatitis events
    assert [e["subject_id"] for e in harms["discontinued"]] == ["S0040", "S0071"]
    assert harms["discontinuation_source"] == "subjects.discontinuation_reason"
    # submission order: most participants first (nasopharyngitis 10, erythema 8 with 10
    # events), ties by events, then alphabetically
    assert [r[0] for r in harms["tables"][1]["rows"]] == [
        "nasopharyngitis",
        "erythema",
        "dry skin",
        "headache",
        "pruritus",
        "burning sensation",
        "contact dermatitis",
        "stinging",
        "appendicitis",
    ]
