"""CONSORT flow counts on hand-counted tiny trials and on the sample bundles."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from efficacy.consort import consort_flow
from efficacy.errors import EfficacyError
from efficacy.protocol import load_protocol
from tests.consort.bundle_factory import make_bundle, r2

PROTOCOL = load_protocol("iso-efficacy-2025")  # [analysis] primary = cutometer_r2

PARALLEL = [
    # id, arm, allocation, randomized, itt, pp, safety, disposition, reason, age, sex, fitz
    ("S01", "ACTIVE", "", "true", "true", "true", "true", "completed", "", 30, "F", "II"),
    (
        "S02",
        "ACTIVE",
        "",
        "true",
        "true",
        "false",
        "true",
        "lost_to_follow_up",
        "moved away",
        40,
        "F",
        "III",
    ),
    (
        "S03",
        "ACTIVE",
        "",
        "true",
        "false",
        "false",
        "false",
        "discontinued",
        "withdrew consent",
        50,
        "M",
        "II",
    ),
    ("S04", "VEHICLE", "", "true", "true", "true", "true", "completed", "", 35, "F", "IV"),
    (
        "S05",
        "VEHICLE",
        "",
        "true",
        "true",
        "false",
        "true",
        "discontinued",
        "adverse event",
        45,
        "M",
        "III",
    ),
    (
        "S06",
        "",
        "",
        "false",
        "false",
        "false",
        "false",
        "screen_failure",
        "not eligible: age",
        70,
        "F",
        "II",
    ),
    (
        "S07",
        "",
        "",
        "false",
        "false",
        "false",
        "false",
        "screen_failure",
        "declined to participate",
        33,
        "F",
        "I",
    ),
    ("S08", "", "", "false", "false", "false", "false", "screen_failure", "", 41, "M", "V"),
]
PARALLEL_MEAS = [
    r2("S01", "W0", 0.6),
    r2("S01", "W4", 0.65),
    r2("S02", "W0", 0.6),  # baseline only: excluded from analysis
    r2("S04", "W0", 0.6),
    r2("S04", "W12", 0.62),
    r2("S05", "W0", 0.6),
    r2("S05", "W4", 0.61),
]


@pytest.fixture
def parallel(tmp_path: Path):
    return make_bundle(tmp_path / "p", PARALLEL, PARALLEL_MEAS)


def test_parallel_enrolment_hand_counted(parallel) -> None:
    flow = consort_flow(parallel, PROTOCOL)
    assert flow.assessed.n == 8
    assert flow.excluded.n == 3
    assert dict(flow.excluded.reasons) == {
        "not eligible: age": 1,
        "declined to participate": 1,
        "reason not recorded": 1,
    }
    assert dict(flow.excluded_categories) == {
        "Not meeting inclusion criteria": 1,
        "Declined to participate": 1,
        "Other reasons": 1,
    }
    assert flow.randomised.n == 5 and flow.randomised.sites is None
    assert flow.primary_endpoint == "cutometer_r2"


def test_parallel_per_arm_hand_counted(parallel) -> None:
    active, vehicle = consort_flow(parallel, PROTOCOL).arms
    assert (active.arm, vehicle.arm, vehicle.control) == ("ACTIVE", "VEHICLE", True)
    assert active.allocated.n == 3
    assert (active.received.n, active.not_received.n) == (2, 1)
    assert dict(active.lost_to_follow_up.reasons) == {"moved away": 1}
    assert dict(active.discontinued.reasons) == {"withdrew consent": 1}
    assert active.analysed.n == 1  # S01 only: S02 has no post-baseline r2, S03 not ITT
    assert dict(active.excluded_from_analysis.reasons) == {
        "no post-baseline primary-endpoint measurement": 1,
        "not in the ITT population": 1,
    }
    assert (vehicle.allocated.n, vehicle.received.n, vehicle.lost_to_follow_up.n) == (2, 2, 0)
    assert (vehicle.discontinued.n, vehicle.analysed.n) == (1, 2)


def test_parallel_checks_hold_and_attested_mismatch_listed(tmp_path: Path) -> None:
    flow = consort_flow(make_bundle(tmp_path / "a", PARALLEL, PARALLEL_MEAS), PROTOCOL)
    assert flow.ok and flow.mismatches == ()
    attested = "[consort.flow]\nassessed_for_eligibility = 8\nexcluded = 4\nrandomised = 5\n"
    bad = consort_flow(
        make_bundle(tmp_path / "b", PARALLEL, PARALLEL_MEAS, flow=attested), PROTOCOL
    )
    assert [c.id for c in bad.mismatches] == ["attested:excluded"]
    assert (bad.mismatches[0].left, bad.mismatches[0].right) == (4, 3)


def test_randomised_without_arm_breaks_the_sum(tmp_path: Path) -> None:
    rows = [list(r) for r in PARALLEL]
    rows[4][1] = ""  # S05 randomised but no arm
    flow = consort_flow(make_bundle(tmp_path / "c", rows, PARALLEL_MEAS), PROTOCOL)
    (bad,) = flow.mismatches
    assert bad.id == "randomised=sum(allocated)" and (bad.left, bad.right) == (5, 4)
    assert "S05" in bad.detail


def test_no_primary_endpoint_means_any_endpoint(tmp_path: Path) -> None:
    meas = [*PARALLEL_MEAS, ("S02", "W4", 28, "corneometer", 50.0, "a.u.", "left_cheek")]
    trial = make_bundle(tmp_path / "d", PARALLEL, meas)
    assert consort_flow(trial, PROTOCOL).arms[0].analysed.n == 1
    assert consort_flow(trial, None).arms[0].analysed.n == 2  # S02 counted via corneometer


SPLIT = [
    (
        "S01",
        "",
        "left_cheek=ACTIVE;right_cheek=VEHICLE",
        "true",
        "true",
        "true",
        "true",
        "completed",
        "",
        30,
        "F",
        "II",
    ),
    (
        "S02",
        "",
        "left_cheek=VEHICLE;right_cheek=ACTIVE",
        "true",
        "true",
        "true",
        "true",
        "discontinued",
        "adverse event",
        40,
        "F",
        "III",
    ),
    (
        "S03",
        "",
        "left_cheek=ACTIVE",
        "true",
        "true",
        "true",
        "true",
        "completed",
        "",
        50,
        "M",
        "II",
    ),
    (
        "S04",
        "",
        "",
        "false",
        "false",
        "false",
        "false",
        "screen_failure",
        "not eligible: x",
        20,
        "F",
        "I",
    ),
]
SPLIT_MEAS = [
    r2("S01", "W0", 0.6, "left_cheek"),
    r2("S01", "W4", 0.7, "left_cheek"),
    r2("S01", "W0", 0.6, "right_cheek"),
    r2("S01", "W4", 0.6, "right_cheek"),
    r2("S02", "W4", 0.6, "left_cheek"),
]


def test_split_face_participants_and_sites_hand_counted(tmp_path: Path) -> None:
    flow = consort_flow(
        make_bundle(tmp_path / "s", SPLIT, SPLIT_MEAS, design="split_face"), PROTOCOL
    )
    assert (flow.randomised.n, flow.randomised.sites) == (3, 5)
    active, vehicle = flow.arms
    assert (active.allocated.n, active.allocated.sites) == (3, 3)
    assert (vehicle.allocated.n, vehicle.allocated.sites) == (2, 2)
    assert (active.analysed.n, vehicle.analysed.n) == (1, 2)  # S01 left; S01 right + S02 left
    assert (active.discontinued.n, active.discontinued.sites) == (1, 1)
    assert flow.paired_analysed.n == 1  # only S01 has both sites at one visit
    (bad,) = flow.mismatches  # S03 has no VEHICLE site
    assert bad.id == "randomised=allocated[VEHICLE]" and (bad.left, bad.right) == (3, 2)


def test_sample_parallel_matches_readme_disposition(samples) -> None:
    # sample_data/parallel_12wk/README.md: ACTIVE 52 completed, 5 discontinued, 3 lost;
    # VEHICLE 58 / 0 / 2; screened 150, randomised 120.
    trial = samples.trial("parallel_12wk")  # read_trial(sample_data/parallel_12wk)
    before = trial.subjects.copy()
    flow = consort_flow(trial, PROTOCOL)
    pd.testing.assert_frame_equal(trial.subjects, before)  # input not modified
    assert (flow.assessed.n, flow.excluded.n, flow.randomised.n) == (150, 30, 120)
    active, vehicle = flow.arms
    assert (active.allocated.n, active.discontinued.n, active.lost_to_follow_up.n) == (60, 5, 3)
    assert (vehicle.allocated.n, vehicle.discontinued.n, vehicle.lost_to_follow_up.n) == (60, 0, 2)
    assert flow.ok


def test_sample_split_face_counts_sites(samples) -> None:
    flow = consort_flow(samples.trial("split_face_12wk"), PROTOCOL)
    assert (flow.assessed.n, flow.randomised.n, flow.randomised.sites) == (50, 40, 80)
    assert [a.allocated.sites for a in flow.arms] == [40, 40]
    assert flow.ok


def test_flawed_consort_attested_excluded_is_a_mismatch(samples) -> None:
    # sample_data/flawed_consort/README.md defect 1: attested excluded 8 != 6 in the data
    flow = consort_flow(samples.trial("flawed_consort"), PROTOCOL)
    assert [(c.id, c.left, c.right) for c in flow.mismatches] == [("attested:excluded", 8, 6)]


def test_not_a_trial_is_misuse() -> None:
    with pytest.raises(EfficacyError, match="read_trial"):
        consort_flow("sample_data/parallel_12wk")  # type: ignore[arg-type]
