"""CONSORT 2025 checklist data and its evaluation against data and attested metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from efficacy.consort import checklist_items, consort_flow, evaluate_checklist
from efficacy.errors import EfficacyError
from efficacy.io import read_trial
from efficacy.protocol import load_protocol
from tests.consort.bundle_factory import make_bundle
from tests.consort.test_flow_counts import PARALLEL, PARALLEL_MEAS, SPLIT, SPLIT_MEAS

ROOT = Path(__file__).resolve().parents[2]
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


def test_sample_parallel_statuses() -> None:
    checklist = _evaluate(read_trial(ROOT / "sample_data" / "parallel_12wk"))
    by = _by_id(checklist)
    assert checklist.extensions == ("CONSORT-PRO",)  # PRO data, not split-face
    assert checklist.counts() == {"data": 9, "attested": 10, "partial": 7, "missing": 16}
    assert by["2"].status == "attested"
    assert by["2"].attested_keys == (
        "registration_id",
        "registration_registry",
        "registration_date",
    )
    assert by["22a"].status == "data" and "section 3" in by["22a"].where
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


def test_analysis_result_covers_estimation(tmp_path: Path) -> None:
    trial = make_bundle(tmp_path / "t", PARALLEL, PARALLEL_MEAS)
    by = _by_id(_evaluate(trial, analysis=object()))
    assert by["26"].status == "data" and by["28"].status == "data"


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
