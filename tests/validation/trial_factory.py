"""Tiny in-memory trials for validation tests, following trial.py's conventions.

Tables are indexed by the 1-based file row (named ``row``), every schema column is
present with the dtype the readers produce (strings: pyarrow-backed ``StringDtype``,
ints: ``Int64``, flags: ``boolean``, floats: ``float64``), and columns listed as missing
are all-NA and named in ``TableSource.missing_columns``.

The clean parallel trial: 5 people screened (S05 a screen failure), 4 randomised 2:2 to
ACTIVE / VEHICLE (control); S04 discontinued after W4. Visits W0 (day 0), W4 (28 ± 3),
W12 (84 ± 7). Every person measured is measured on 15 endpoints (Cutometer amplitudes
and R-parameters consistent to 4 decimals, Corneometer, TEWL, wrinkle Ra and depth) and
answers Skindex-16 (16 items) and one FACE-Q scale (10 items) at each visit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from efficacy.trial import (
    OPTIONAL_TABLES,
    TABLE_SCHEMAS,
    Arm,
    Manifest,
    TableSource,
    Trial,
    Visit,
    empty_issues,
)

STRING = pd.StringDtype("pyarrow")
DTYPES = {
    "str": STRING,
    "fitzpatrick": STRING,
    "float": "float64",
    "int": "Int64",
    "bool": "boolean",
    "date": "datetime64[us]",
}

VISITS = (Visit("W0", 0, 0, 0), Visit("W4", 4, 28, 3), Visit("W12", 12, 84, 7))
ARMS = (Arm("ACTIVE", "Serum", False), Arm("VEHICLE", "Vehicle", True))

# uf = ue + uv; r0 = uf, r2 = ua/uf, r5 = ur/ue, r6 = uv/ue, r7 = ur/uf, r8 = ua
CUTOMETER = {
    "cutometer_uf": (0.30, "mm"),
    "cutometer_ue": (0.20, "mm"),
    "cutometer_uv": (0.10, "mm"),
    "cutometer_ur": (0.14, "mm"),
    "cutometer_ua": (0.21, "mm"),
    "cutometer_r0": (0.30, "mm"),
    "cutometer_r2": (0.70, "ratio"),
    "cutometer_r5": (0.70, "ratio"),
    "cutometer_r6": (0.50, "ratio"),
    "cutometer_r7": (0.4667, "ratio"),
    "cutometer_r8": (0.21, "mm"),
}
OTHER = {
    "corneometer": (50.0, "a.u.", "Corneometer CM 825", "readings=3"),
    "tewl": (12.0, "g/m2/h", "Tewameter TM 300", "chamber=open"),
    "wrinkle_ra": (40.0, "um", "PRIMOS CR", "field=45x30mm"),
    "wrinkle_depth_max": (140.0, "um", "PRIMOS CR", "field=45x30mm"),
}
SKINDEX_SCALES = {"symptoms": range(1, 5), "emotions": range(5, 12), "functioning": range(12, 17)}

CONSORT = {
    "registration_id": "NCT01234567",
    "registration_registry": "ClinicalTrials.gov",
    "registration_date": "2025-01-15",
    "protocol_location": "protocol.pdf",
    "sap_location": "sap.pdf",
    "blinding": "double-blind",
    "randomisation_method": "permuted blocks of 4",
    "allocation_concealment": "central web system",
    "funding": "sponsor",
    "data_sharing": "on request",
    "flow": {"assessed_for_eligibility": 5, "excluded": 1, "randomised": 4},
}


def canonical(name: str, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Return `rows` as canonical table `name`: schema columns and dtypes, row index."""
    frame = pd.DataFrame(rows).reset_index(drop=True)
    out = {}
    for col in TABLE_SCHEMAS[name]:
        values = frame[col.name] if col.name in frame else pd.Series([None] * len(frame))
        if col.kind in ("str", "fitzpatrick"):
            values = values.astype(object).where(values.notna(), None)
            values = values.map(lambda v: None if v in ("", None) else str(v))
        out[col.name] = pd.array(values.to_list(), dtype=DTYPES[col.kind])
    extra = {c: frame[c].to_numpy() for c in frame.columns if c not in out}
    table = pd.DataFrame({**out, **extra})
    table.index = pd.RangeIndex(1, len(table) + 1, name="row")
    return table


def _subjects(design: str) -> list[dict[str, Any]]:
    people = [
        ("S01", "ACTIVE", True, "completed", ""),
        ("S02", "VEHICLE", True, "completed", ""),
        ("S03", "ACTIVE", True, "completed", ""),
        ("S04", "VEHICLE", True, "discontinued", "moved away"),
        ("S05", "", False, "screen_failure", "inclusion criteria not met"),
    ]
    rows = []
    for i, (sid, arm, rand, disp, reason) in enumerate(people):
        alloc = ""
        if design == "split_face" and rand:
            alloc = (
                "left_cheek=ACTIVE;right_cheek=VEHICLE"
                if i % 2 == 0
                else "left_cheek=VEHICLE;right_cheek=ACTIVE"
            )
        rows.append(
            {
                "subject_id": sid,
                "arm": arm if design == "parallel" else "",
                "allocation": alloc,
                "randomized": rand,
                "itt": rand,
                "per_protocol": rand and disp == "completed",
                "safety": rand,
                "disposition": disp,
                "discontinuation_reason": reason,
                "age": 40.0 + i,
                "sex": "F",
                "fitzpatrick": "II",
                "randomization_date": "2025-02-01" if rand else None,
                "site_id": "C1",
            }
        )
    return rows


def _visits_of(sid: str) -> tuple[Visit, ...]:
    return VISITS[:2] if sid == "S04" else VISITS


def _measurements(design: str) -> list[dict[str, Any]]:
    sites = ("left_cheek", "right_cheek") if design == "split_face" else ("face",)
    rows = []
    for sid in ("S01", "S02", "S03", "S04"):
        for v in _visits_of(sid):
            for site in sites:
                env = {"temperature_c": 21.0, "humidity_pct": 50.0}
                base = {"subject_id": sid, "visit": v.id, "day": v.day, "body_site": site, **env}
                for ep, (value, unit) in CUTOMETER.items():
                    rows.append(
                        {
                            **base,
                            "endpoint": ep,
                            "value": value,
                            "unit": unit,
                            "device": "Cutometer dual MPA 580",
                            "device_settings": "probe=2mm;suction=450mbar",
                        }
                    )
                for ep, (value, unit, device, settings) in OTHER.items():
                    rows.append(
                        {
                            **base,
                            "endpoint": ep,
                            "value": value,
                            "unit": unit,
                            "device": device,
                            "device_settings": settings,
                        }
                    )
    return rows


def _pro() -> list[dict[str, Any]]:
    rows = []
    for sid in ("S01", "S02", "S03", "S04"):
        for v in _visits_of(sid):
            base = {"subject_id": sid, "visit": v.id, "day": v.day}
            for scale, items in SKINDEX_SCALES.items():
                for item in items:
                    rows.append(
                        {
                            **base,
                            "instrument": "skindex16",
                            "scale": scale,
                            "item": item,
                            "response": 2,
                        }
                    )
            for item in range(1, 11):
                rows.append(
                    {
                        **base,
                        "instrument": "faceq",
                        "scale": "satisfaction_facial_appearance",
                        "item": item,
                        "response": 3,
                    }
                )
    return rows


def clean_tables(design: str = "parallel") -> dict[str, pd.DataFrame]:
    """The clean trial's four tables, canonical (a fresh copy on every call).

    Built once per design (:func:`_clean_tables`, ~20 ms of pandas a build, and the
    validation tests make hundreds of trials); every call hands out deep copies, so a test
    that changes its tables changes no other test's.
    """
    return {name: frame.copy() for name, frame in _clean_tables(design).items()}


@cache
def _clean_tables(design: str) -> dict[str, pd.DataFrame]:
    """The clean trial's four tables as :func:`canonical` builds them (never handed out)."""
    ae = [
        {
            "subject_id": "S01",
            "term": "erythema",
            "severity": "mild",
            "serious": False,
            "related": True,
            "onset_day": 10,
            "body_site": "face",
        }
    ]
    return {
        "subjects": canonical("subjects", _subjects(design)),
        "measurements": canonical("measurements", _measurements(design)),
        "pro_responses": canonical("pro_responses", _pro()),
        "adverse_events": canonical("adverse_events", ae),
    }


#: The clean manifest "lives" beside the synthetic FACE-Q table fixture, which it names
#: as its conversion table (PRO-006 then passes, as in a clean bundle).
FACEQ_FIXTURES = Path(__file__).resolve().parents[1] / "reference" / "faceq"


def make_manifest(design: str = "parallel", **changes: Any) -> Manifest:
    """The clean manifest, with fields replaced by `changes`."""
    fields: dict[str, Any] = {
        "path": FACEQ_FIXTURES / "trial.toml",
        "id": "EFF-TEST",
        "title": "Tiny trial",
        "design": design,
        "baseline_visit": "W0",
        "arms": ARMS,
        "visits": VISITS,
        "tables": {
            **{n: f"{n}.csv" for n in TABLE_SCHEMAS if n not in OPTIONAL_TABLES},
            "faceq_conversion": "synthetic_linear_conversion.csv",
        },
        "consort": CONSORT,
    }
    fields.update(changes)
    return Manifest(**fields)


def make_trial(
    tables: Mapping[str, pd.DataFrame] | None = None,
    *,
    design: str = "parallel",
    manifest: Manifest | None = None,
    missing: Mapping[str, Iterable[str]] | None = None,
    absent: Iterable[str] = (),
    issues: Iterable[Mapping[str, Any]] = (),
) -> Trial:
    """A Trial from canonical `tables` (default: the clean ones).

    `missing` lists columns per table that the "file" lacked (set to all-NA here);
    tables in `absent` are empty with ``path=None``; `issues` are reader issues.
    """
    tables = dict(tables) if tables is not None else clean_tables(design)
    missing = {k: tuple(v) for k, v in (missing or {}).items()}
    absent = set(absent)
    sources = {}
    for name in TABLE_SCHEMAS:
        frame = tables.get(name)
        if frame is None or name in absent:
            frame = _empty(name).copy()
        for col in missing.get(name, ()):
            frame = frame.assign(**{col: pd.array([None] * len(frame), dtype=frame[col].dtype)})
        tables[name] = frame
        sources[name] = TableSource(
            name,
            None if name in absent else Path(f"{name}.csv"),
            None if name in absent else "csv",
            len(frame),
            missing.get(name, ()),
        )
    issue_frame = pd.DataFrame(list(issues)) if issues else empty_issues()
    return Trial(
        manifest=manifest or make_manifest(design),
        subjects=tables["subjects"],
        measurements=tables["measurements"],
        pro_responses=tables["pro_responses"],
        adverse_events=tables["adverse_events"],
        sources=sources,
        issues=issue_frame.reindex(columns=list(empty_issues().columns)),
    )


@cache
def _empty(name: str) -> pd.DataFrame:
    """``canonical(name, [])``, built once (never handed out: :func:`make_trial` copies it)."""
    return canonical(name, [])


def row_of(frame: pd.DataFrame, **where: Any) -> int:
    """The single row label of `frame` matching every column == value in `where`."""
    mask = np.ones(len(frame), dtype=bool)
    for col, value in where.items():
        mask &= (frame[col] == value).fillna(False).to_numpy(dtype=bool)
    hits = frame.index[mask]
    if len(hits) != 1:
        raise LookupError(f"{len(hits)} rows match {where}")
    return int(hits[0])


def with_cell(frame: pd.DataFrame, row: int, column: str, value: Any) -> pd.DataFrame:
    """A copy of `frame` with one cell changed (keeping the column dtype)."""
    out = frame.copy()
    out.loc[row, column] = value
    return out


def failed(report: Any) -> set[str]:
    """Ids of the rules that produced findings."""
    return {rid for rid, s in report.rules.items() if s.status == "failed"}


def of(report: Any, rule_id: str) -> list[Any]:
    """The findings of one rule."""
    return [f for f in report.findings if f.rule_id == rule_id]


def one(report: Any, rule_id: str) -> Any:
    """The single finding of `rule_id` (fails the test if there are 0 or several)."""
    found = of(report, rule_id)
    if len(found) != 1:
        raise AssertionError(f"{rule_id}: expected 1 finding, got {found}")
    return found[0]
