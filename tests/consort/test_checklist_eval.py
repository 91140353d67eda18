"""CONSORT 2025 checklist data and its evaluation against data and attested metadata."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from efficacy.analysis import AnalysisResult
from efficacy.analysis.result import RESULT_COLUMNS
from efficacy.consort import checklist_items, consort_flow, evaluate_checklist
from efficacy.errors import EfficacyError
from efficacy.protocol import load_protocol
from tests.consort.bundle_factory import make_bundle
from tests.consort.test_flow_counts import PARALLEL, PARALLEL_MEAS, SPLIT, SPLIT_MEAS

PROTOCOL = load_protocol("iso-efficacy-2025")


def _evaluate(trial, **kw):
    return evaluate_checklist(trial, PROTOCOL, consort_flow(trial, PROTOCOL), **kw)


def _by_id(checklist):
    return {e.id: e for e in checklist.entries}


def test_checklist_has_30_items_and_42_entries() -> None:
    # CONSORT 2025 (PLOS Med e1004587 Table 1; FACTS.md 1.2): 30 items, 42 entries.
    data = checklist_items()
    ids = [e["id"] for e in data["item"]]
    assert len(ids) == 42 and len(set(ids)) == 42
    assert len({i.rstrip("abcd") for i in ids}) == 30
    assert ids[:3] == ["1a", "1b", "2"] and ids[-1] == "30"
    sections = {e["section"] for e in data["item"]}
    assert sections == {
        "Title and abstract",
        "Open science",
        "Introduction",
        "Methods",
        "Results",
        "Discussion",
    }
    assert "CC BY" in data["source"]["attribution"]
    assert "e1004587" in data["source"]["attribution"]
    assert "paraphrase" in data["source"]["attribution"]


def test_within_person_items_ship_ids_and_titles_only() -> None:
    # FACTS.md 6: the within-person extension is CC BY-NC; ship ids + paraphrased titles.
    for e in checklist_items()["within_person"]:
        assert "text" not in e and e["id"].startswith("WP-") and len(e["title"]) < 80


def test_sample_parallel_statuses(samples) -> None:
    checklist = _evaluate(samples.trial("parallel_12wk"))  # read_trial(sample_data/...)
    by = _by_id(checklist)
    assert checklist.extensions == ("CONSORT-PRO",)  # PRO data, not split-face
    assert checklist.counts() == {"data": 9, "attested": 10, "partial": 7, "missing": 16}
    assert by["2"].status == "attested"
    assert by["2"].attested_keys == (
        "registration_id",
        "registration_registry",
        "registration_date",
    )
    assert by["22a"].status == "data" and by["22a"].shown_in == "flow"
    assert by["22a"].where == "flow of participants from subjects"
    # the checklist knows kinds of result, not the report's section numbers
    assert not any("section" in e.where for e in checklist.entries)
    assert by["26"].status == "partial" and "efficacy analysis not run" in by["26"].missing
    assert by["28"].status == "missing" and "efficacy analysis not run" in by["28"].missing
    assert by["16a"].status == "missing" and "sample_size" in by["16a"].missing


def test_attested_items_and_all_keys_rule(tmp_path: Path) -> None:
    consort = (
        'registration_id = "NCT1"\nregistration_registry = "CT.gov"\n'
        'sample_size = "protocol section 7"\n'
        '[consort.items]\n"29" = "discussion, paragraph 1"\n'
    )
    trial = make_bundle(tmp_path / "t", PARALLEL, PARALLEL_MEAS, consort=consort)
    by = _by_id(_evaluate(trial))
    assert by["16a"].status == "attested" and by["16a"].attested_text == ("protocol section 7",)
    assert by["29"].status == "attested" and by["29"].attested_keys == ("items.29",)
    # item 2 needs registry, number AND date: the date is missing
    assert by["2"].status == "partial" and "registration_date" in by["2"].missing
    assert by["1a"].status == "missing"  # the title "Tiny trial" does not say randomised


def _result(status: str, populations: tuple[str, ...]) -> AnalysisResult:
    """An analysis result with `status` and one estimate row per population."""
    empty = AnalysisResult.not_analysed("T", "iso-efficacy-2025@1.0", "parallel", ())
    rows = pd.DataFrame(
        [dict.fromkeys(RESULT_COLUMNS, "") | {"population": p} for p in populations]
    )
    return dataclasses.replace(empty, status=status, estimates=rows)


def test_analysis_result_covers_estimation(tmp_path: Path) -> None:
    trial = make_bundle(tmp_path / "t", PARALLEL, PARALLEL_MEAS)
    by = _by_id(_evaluate(trial, analysis=_result("analysed", ("itt", "per_protocol"))))
    assert by["26"].status == "data" and by["28"].status == "data"
    assert (by["26"].shown_in, by["28"].shown_in) == ("estimates", "sensitivity")
    assert by["26"].where == "estimates with 95% CI per outcome"  # the plan's level
    # no sensitivity analysis at all (ITT only, no tipping point): 28 is not covered
    by = _by_id(_evaluate(trial, analysis=_result("analysed", ("itt",))))
    assert by["26"].status == "data" and by["28"].status == "missing"
    # analysed, but every planned analysis was skipped: no estimates to point to
    by = _by_id(_evaluate(trial, analysis=_result("analysed", ())))
    assert by["26"].status == "partial" and "produced no estimates" in by["26"].missing


def test_not_analysed_leaves_estimation_uncovered(samples) -> None:
    """Items 26/28 are not covered when the analysis refused the trial (design review 4)."""
    trial = samples.trial("flawed_design")
    result = samples.analysis("flawed_design")  # analyze(trial, PROTOCOL)
    assert result.status == "not analysed"
    by = _by_id(_evaluate(trial, analysis=result))
    assert by["26"].status == "partial" and by["26"].shown_in == "flow"
    assert by["26"].where == "numbers analysed per arm"
    assert by["26"].missing.startswith("efficacy analysis not performed: validation found")
    assert by["28"].status == "missing" and by["28"].where == "" and by["28"].shown_in == ""
    assert "efficacy analysis not performed" in by["28"].missing
    # the same as giving no analysis at all, apart from the reason
    none = _by_id(_evaluate(trial))
    assert (none["26"].status, none["28"].status) == ("partial", "missing")
    assert none["26"].missing == "efficacy analysis not run"


def test_split_face_adds_within_person_items(tmp_path: Path) -> None:
    trial = make_bundle(tmp_path / "s", SPLIT, SPLIT_MEAS, design="split_face")
    checklist = _evaluate(trial)
    assert checklist.extensions == ("within-person",)  # no PRO responses in this bundle
    by = _by_id(checklist)
    assert by["WP-13a"].status == "data" and "body sites" in by["WP-13a"].where
    assert by["WP-3a"].status == "partial" and "5 body sites of 3" in by["WP-3a"].where
    assert by["WP-7a"].topic.endswith("(unverified)")


def test_misuse_names_the_fix() -> None:
    with pytest.raises(EfficacyError, match="consort_flow"):
        evaluate_checklist(object(), PROTOCOL, None)  # type: ignore[arg-type]
