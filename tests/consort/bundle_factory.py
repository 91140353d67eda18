"""Write tiny trial bundles (trial.toml + CSV) for CONSORT and report tests.

Every count in the tests that use these bundles is hand-counted from the rows below.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from efficacy.io import read_trial
from efficacy.trial import Trial

SUBJECT_COLUMNS = (
    "subject_id",
    "arm",
    "allocation",
    "randomized",
    "itt",
    "per_protocol",
    "safety",
    "disposition",
    "discontinuation_reason",
    "age",
    "sex",
    "fitzpatrick",
)
MEAS_COLUMNS = ("subject_id", "visit", "day", "endpoint", "value", "unit", "body_site")
AE_COLUMNS = ("subject_id", "term", "severity", "serious", "related", "onset_day", "body_site")
VISIT_DAYS = {"W0": 0, "W4": 28, "W12": 84}


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(["" if v is None else v for v in r] for r in rows)


def manifest(design: str = "parallel", flow: str = "", consort: str = "") -> str:
    visits = "".join(
        f'[[visits]]\nid = "{v}"\nweek = {d // 7}\nday = {d}\nwindow_days = 3\n\n'
        for v, d in VISIT_DAYS.items()
    )
    return (
        f'[trial]\nid = "TINY"\ntitle = "Tiny trial"\ndesign = "{design}"\n'
        'baseline_visit = "W0"\n\n'
        '[[arms]]\nid = "ACTIVE"\nlabel = "Serum"\ncontrol = false\n\n'
        '[[arms]]\nid = "VEHICLE"\nlabel = "Vehicle"\ncontrol = true\n\n'
        f"{visits}"
        '[tables]\nsubjects = "subjects.csv"\nmeasurements = "measurements.csv"\n'
        'adverse_events = "adverse_events.csv"\n\n'
        f"[consort]\n{consort}\n{flow}"
    )


def make_bundle(
    root: Path,
    subjects: Iterable[Sequence[object]],
    measurements: Iterable[Sequence[object]] = (),
    adverse_events: Iterable[Sequence[object]] = (),
    *,
    design: str = "parallel",
    flow: str = "",
    consort: str = "",
) -> Trial:
    """Write a bundle under `root` and read it back as a Trial."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "trial.toml").write_text(manifest(design, flow, consort), encoding="utf-8")
    _write(root / "subjects.csv", SUBJECT_COLUMNS, subjects)
    _write(root / "measurements.csv", MEAS_COLUMNS, measurements)
    _write(root / "adverse_events.csv", AE_COLUMNS, adverse_events)
    return read_trial(root)


def r2(subject: str, visit: str, value: float, site: str = "left_cheek") -> tuple:
    """One cutometer_r2 measurement row."""
    return (subject, visit, VISIT_DAYS[visit], "cutometer_r2", value, "ratio", site)
