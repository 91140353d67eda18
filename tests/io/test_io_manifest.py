"""Semantic manifest problems are recorded in trial.issues, never raised."""

from __future__ import annotations

import math
from pathlib import Path

from efficacy.io import read_trial
from tests.io.bundle_factory import write_manifest

BAD_MANIFEST = """\
[trial]
id = "EFF-BAD"
design = "crossover"
baseline_visit = "V0"
baseline_day = 2

[[arms]]
label = "No id"
control = "yes"

[[arms]]
id = "A"
label = "A"

[[arms]]
id = "B"
label = "another"

[[visits]]
id = "W0"
week = 0
day = 0
window_days = 0

[[visits]]
id = "W4"
week = "four"
day = 28.5
window_days = -1

[[visits]]
id = "W8"
week = 8

[tables]
subjects = 3
photos = "photos.zip"

[consort]
registration_id = "NCT1"

[consort.flow]
randomised = -4
"""


def _problems(folder: Path) -> dict[str, tuple[object, str]]:
    """Issues keyed by key path, in the order recorded (dicts keep insertion order)."""
    trial = read_trial(folder)
    issues = trial.issues
    assert (issues["table"] == "manifest").all()
    assert issues["row"].isna().all()
    return {
        c: (v, p)
        for c, v, p in zip(issues["column"], issues["value"], issues["problem"], strict=True)
    }


def test_semantic_problems_recorded(tmp_path: Path) -> None:
    write_manifest(tmp_path, {}, text=BAD_MANIFEST)
    got = _problems(tmp_path)
    assert got == {
        "trial.title": (None, "missing 'title': add title = \"...\""),
        "trial.design": ("crossover", "'design' must be one of: parallel | split_face"),
        "trial.baseline_day": ("2", "'baseline_day' must be 0 or 1"),
        "arms[1].id": (None, "missing 'id': add id = \"...\""),
        "arms[1].control": ("yes", "'control' must be true or false"),
        "visits[2].week": ("four", "'week' must be a number, got 'four'"),
        "visits[2].day": ("28.5", "'day' must be a whole number, got 28.5"),
        "visits[2].window_days": ("-1", "'window_days' must be 0 or more"),
        "visits[3].day": (None, "missing 'day': assumed 56 from week 8"),
        "visits[3].window_days": (None, "missing 'window_days': assumed 0 (no window)"),
        "trial.baseline_visit": ("V0", "baseline_visit 'V0' is not a [[visits]] id"),
        "tables.subjects": ("3", "'subjects' must be a file name such as \"subjects.csv\""),
        "tables.photos": (
            "photos.zip",
            "unknown table 'photos' ignored; known: subjects, measurements, "
            "pro_responses, adverse_events, deviations, intercurrent_events, "
            "faceq_conversion",
        ),
        "consort.flow.randomised": (
            "-4",
            "'randomised' must be a whole number (0 or more), e.g. randomised = 120; "
            "got a negative number (-4)",
        ),
    }


def test_manifest_keeps_what_it_can(tmp_path: Path) -> None:
    write_manifest(tmp_path, {}, text=BAD_MANIFEST)
    m = read_trial(tmp_path).manifest
    assert m.id == "EFF-BAD"
    assert m.design == "crossover"  # kept as written; validation reports it
    assert m.title == ""
    assert [(a.id, a.label, a.control) for a in m.arms] == [
        ("", "No id", False),
        ("A", "A", False),
        ("B", "another", False),
    ]
    w4 = m.visits[1]
    assert math.isnan(w4.week) and math.isnan(w4.day) and w4.window_days == 0
    assert (m.visits[2].day, m.visits[2].window_days) == (56, 0)
    assert m.tables == {}
    assert m.consort["registration_id"] == "NCT1"
    assert m.raw["tables"]["photos"] == "photos.zip"


def test_missing_sections(tmp_path: Path) -> None:
    write_manifest(tmp_path, {}, text='title = "stray key"\n')
    got = _problems(tmp_path)
    assert got == {
        "trial": (None, "missing [trial] section"),
        "arms": (None, "no [[arms]] entries: declare at least one"),
        "visits": (None, "no [[visits]] entries: declare at least one"),
        "tables": (None, "missing [tables] section"),
    }
    trial = read_trial(tmp_path)
    assert trial.manifest.arms == () and trial.manifest.design == ""
    assert trial.subjects.empty and trial.sources["subjects"].path is None


def test_wrong_shapes(tmp_path: Path) -> None:
    text = '[trial]\nid = 7\ntitle = "T"\ndesign = "parallel"\nbaseline_visit = "W0"\n'
    text += 'arms = "A"\nvisits = [1]\ntables = "x"\n'
    write_manifest(tmp_path, {}, text=text.replace("arms =", "[x]\narms ="))
    got = _problems(tmp_path)
    assert got["trial.id"] == ("7", "'id' must be a quoted string, got int")
    assert got["arms"] == (None, "no [[arms]] entries: declare at least one")
    # keys under [x] are not arms/visits/tables; top-level ones:
    write_manifest(
        tmp_path,
        {},
        text='arms = "A"\nvisits = [1]\ntables = "x"\n[trial]\nid = "I"\ntitle = "T"\n'
        'design = "split_face"\nbaseline_visit = "W0"\n',
    )
    got = _problems(tmp_path)
    assert list(got) == ["arms", "visits[1]", "tables"]
    assert got == {
        "visits[1]": ("1", "[[visits]] entry 1 must be a table of keys"),
        "arms": ("A", "'arms' must be an array of tables ([[arms]] blocks)"),
        "tables": ("x", "'tables' must be a [tables] table, got str"),
    }
