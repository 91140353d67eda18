"""Report sections 1 (title block), 2 (verdict per requirement) and 9 (appendices).

Finding ids: the report numbers the validation findings ``F-0001``, ``F-0002``, ... in
the validation report's order (rule order, then row); the verdict cites them. The
appendix shows the findings grouped by cause (one row per rule, table, column and message
pattern, with the count, the first rows and the finding ids); the JSON lists every
finding.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from efficacy import __version__
from efficacy._cells import is_missing
from efficacy._digest import file_sha256
from efficacy.protocol import Protocol, Requirement
from efficacy.trial import Trial
from efficacy.validation import ValidationReport

__all__ = ["appendices", "generated_at", "title_block", "verdict"]

_VERDICT = {"passed": "met", "failed": "not met"}
#: How the report names each input file's role.
_ROLES = {
    "manifest": "Manifest (trial.toml)",
    "subjects": "Subjects table",
    "measurements": "Measurements table",
    "pro_responses": "PRO responses table",
    "adverse_events": "Adverse events table",
    "deviations": "Protocol deviations table",
    "intercurrent_events": "Intercurrent events table",
    "faceq_conversion": "FACE-Q conversion table",
    "protocol": "Protocol",
}
#: Libraries whose code produced numbers, figures or files of the report.
_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "patsy",
    "statsmodels",
    "pyarrow",
    "matplotlib",
    "jinja2",
    "weasyprint",
)


def generated_at() -> str:
    """Return the generation time, UTC ISO 8601; ``SOURCE_DATE_EPOCH`` when set (reproducible)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _inputs(trial: Trial, protocol: Protocol | None = None) -> list[dict[str, Any]]:
    """Every input file that produced a number, with its SHA-256.

    The manifest, each table's file, the reference files the manifest names (the FACE-Q
    conversion table), and the protocol file. Paths are relative to the bundle folder
    (file names for files outside it).
    """
    from efficacy.trial import REFERENCE_FILES

    root = trial.manifest.path.parent if trial.manifest.path is not None else None
    files: list[tuple[str, Path]] = []
    if trial.manifest.path is not None:
        files.append(("manifest", trial.manifest.path))
    for name in sorted(trial.sources):
        src = trial.sources[name]
        if src.path is not None:
            files.append((name, Path(src.path)))
    for key in REFERENCE_FILES:
        ref = trial.reference_file(key)
        if ref is not None and ref.is_file():
            files.append((key, ref))
    if protocol is not None and protocol.path is not None and Path(protocol.path).is_file():
        files.append(("protocol", Path(protocol.path)))
    adam = trial.manifest.raw.get("adam")  # ADaM input: every BDS dataset, not only the first
    if isinstance(adam, dict):
        seen = {p for _, p in files}
        files += [("measurements", Path(p)) for p in adam.get("bds", []) if Path(p) not in seen]
    out = []
    for role, path in files:
        try:
            shown = str(path.resolve().relative_to(root.resolve())) if root else path.name
        except ValueError:
            shown = path.name
        label = _ROLES.get(role, role.replace("_", " "))
        out.append({"role": role, "label": label, "file": shown, "sha256": file_sha256(path)})
    return out


def title_block(trial: Trial, protocol: Protocol, when: str) -> dict[str, Any]:
    """Section 1: trial, protocol id and version, package version, inputs and time."""
    m = trial.manifest
    return {
        "trial_id": m.id,
        "title": m.title,
        "design": m.design,
        "arms": [{"id": a.id, "label": a.label, "control": a.control} for a in m.arms],
        "protocol": {"id": protocol.id, "version": protocol.version, "title": protocol.title},
        "efficacy_version": __version__,
        "generated_at": when,
        "inputs": _inputs(trial, protocol),
    }


def _evidence(trial: Trial, req: Requirement, measured: _Measured) -> str:
    """Say what the data show for `req` (a positive statement, whatever the status).

    `measured` counts the trial's measurements once for every instrumental requirement.
    """
    p, m = req.parameters, trial.manifest
    if req.check == "duration":
        weeks = m.planned_weeks
        planned = f"planned follow-up {weeks:g} weeks" if weeks is not None else "no schedule"
        return planned + _observed(trial)
    if req.check == "instrumental":
        return measured.text(tuple(p.get("endpoints", ())))
    if req.check == "pro":
        pro = trial.pro_responses
        instrument = p.get("instrument")
        base, final = m.baseline_visit, m.final_visit.id if m.final_visit else None
        mine = (pro["instrument"] == instrument).fillna(False).to_numpy(dtype=bool)
        # each (visit, participant) once: a few hundred pairs, not thousands of item rows
        pairs = set(
            zip(
                pro["visit"].to_numpy(dtype=object)[mine].tolist(),
                pro["subject_id"].to_numpy(dtype=object)[mine].tolist(),
                strict=True,
            )
        )
        n = [
            len({sid for visit, sid in pairs if _equal(visit, v) and not is_missing(sid)})
            for v in (base, final)
        ]
        return f"{instrument} answered by {n[0]} at {base} and {n[1]} at {final}"
    if req.check == "controlled":
        s = trial.subjects
        rand = int(s["randomized"].astype("boolean").fillna(False).sum())
        ctl = ", ".join(a.id for a in m.control_arms) or "none declared"
        return f"{rand} randomised; design {m.design}; control: {ctl}"
    return ""


def _equal(value: Any, wanted: Any) -> bool:
    """``value == wanted`` as a pandas comparison with a scalar: False for a missing side."""
    return not is_missing(value) and not is_missing(wanted) and bool(value == wanted)


def _observed(trial: Trial) -> str:
    """Completers' median observed follow-up (last measurement day minus baseline day).

    A completer's last day is the latest non-missing ``day`` of their measurements;
    completers without one (and rows without a subject id) do not count.
    """
    base = {v.id: v.day for v in trial.manifest.visits}.get(trial.manifest.baseline_visit)
    s = trial.subjects
    done = {
        sid
        for sid, disposition in zip(
            s["subject_id"].tolist(), s["disposition"].tolist(), strict=True
        )
        if _equal(disposition, "completed") and not is_missing(sid)
    }
    m = trial.measurements
    days = m["day"].to_numpy(dtype=float, na_value=np.nan).tolist()
    last: dict[Any, float] = {}
    for sid, day in zip(m["subject_id"].tolist(), days, strict=True):
        if sid in done and day == day and not (sid in last and last[sid] >= day):
            last[sid] = day
    if base is None or not last:
        return ""
    weeks = (float(np.median(np.array(list(last.values()), dtype=float))) - base) / 7
    return f"; completers' median observed follow-up {weeks:.1f} weeks (n = {len(last)})"


class _Measured:
    """Participants measured per endpoint at baseline and at the final visit, and devices.

    Counted in one pass over the non-missing measurements (on first use), then read by
    each instrumental requirement of the verdict.
    """

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self._counts: dict[tuple[Any, Any], int] | None = None
        self._devices: dict[Any, set[str]] = {}
        self._seen: set[Any] = set()  # endpoints with a non-missing value (any visit)

    def _count(self) -> dict[tuple[Any, Any], int]:
        if self._counts is None:
            meas = self.trial.measurements
            sel = meas[meas["value"].notna().to_numpy(dtype=bool)]
            people = sel.groupby(["endpoint", "visit"])["subject_id"].nunique()
            keys: list[tuple[Any, Any]] = people.index.tolist()
            self._counts = dict(zip(keys, map(int, people.tolist()), strict=True))
            self._seen = set(sel["endpoint"].dropna().unique().tolist())
            pairs = sel[["endpoint", "device"]].dropna().drop_duplicates()
            for ep, device in zip(
                pairs["endpoint"].tolist(), pairs["device"].tolist(), strict=True
            ):
                self._devices.setdefault(ep, set()).add(str(device))
        return self._counts

    def text(self, endpoints: tuple[str, ...]) -> str:
        """Say how many were measured at baseline and at the final visit, per endpoint."""
        counts = self._count()
        m = self.trial.manifest
        base, final = m.baseline_visit, m.final_visit.id if m.final_visit else None
        present = sorted(self._seen & set(endpoints))
        parts = [
            f"{ep}: {counts.get((ep, base), 0)} at {base}, {counts.get((ep, final), 0)} at {final}"
            for ep in present
        ]
        devices = sorted(set().union(*(self._devices.get(ep, set()) for ep in present)))
        if not parts:
            return "none of " + ", ".join(endpoints) + " measured"
        return "; ".join(parts) + (f" (device: {', '.join(devices)})" if devices else "")


def _finding_ids(rule_ids: list[str]) -> dict[str, list[str]]:
    """Return the finding ids (``F-0001``, ... in finding order) of each rule."""
    ids: dict[str, list[str]] = {}
    for i, rid in enumerate(rule_ids, start=1):
        ids.setdefault(rid, []).append(f"F-{i:04d}")
    return ids


def _checklist_gaps(checklist: Mapping[str, Any] | None, extensions: bool) -> dict[str, Any]:
    """CONSORT items not fully reported, from the report's checklist (section 4)."""
    entries = [] if checklist is None else checklist["entries"]
    keep = [
        e for e in entries if e["checklist"] == "CONSORT 2025" or (extensions and e["checklist"])
    ]
    return {
        "missing": [e["id"] for e in keep if e["status"] == "missing"],
        "partial": [e["id"] for e in keep if e["status"] == "partial"],
        "lines": {
            e["id"]: f"item {e['id']} ({e['topic']}) {e['status']}: {e['missing']}"
            for e in keep
            if e["status"] in ("missing", "partial")
        },
    }


def _checklist_row(req: Requirement, checklist: Mapping[str, Any] | None) -> dict[str, Any]:
    """Judge a ``consort_checklist`` requirement on the report's checklist (section 4)."""
    gaps = _checklist_gaps(checklist, bool(req.parameters.get("extensions", False)))
    lacking = gaps["missing"] + ([] if req.parameters.get("allow_partial") else gaps["partial"])
    which = (
        "CONSORT 2025 and its extensions" if req.parameters.get("extensions") else ("CONSORT 2025")
    )
    if checklist is None:
        state, reason = "not assessable", "the report has no CONSORT checklist"
    elif lacking:
        state = "not met"
        reason = f"{len(lacking)} {which} item(s) not fully reported: {', '.join(lacking)}"
    else:
        state, reason = "met", ""
    n_items = 0 if checklist is None else len(checklist["entries"])
    return {
        "id": req.id,
        "title": req.title,
        "requirement": req.text,
        "verdict": state,
        "rule_status": "checklist",
        "reason": reason,
        "evidence": f"{which} checklist, section 4: {n_items} entries; "
        f"{len(gaps['missing'])} missing, {len(gaps['partial'])} partial",
        "findings": [gaps["lines"][i] for i in lacking[:10]],
        "n_findings": len(lacking),
        "finding_ids": [],
        "source": req.source,
    }


def verdict(
    trial: Trial,
    protocol: Protocol,
    validation: ValidationReport,
    checklist: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Section 2: each requirement met / not met / not assessable, evidence, finding ids.

    ``overall`` is "conforms" only when every requirement is met and the data rules
    found no error; "requirements met; the data have error findings" when the
    requirements are met but the data rules found errors (``data_errors``, appendix 9).

    `checklist` is the report's CONSORT checklist (``Checklist.to_dict()``): its items
    not fully reported are listed under ``checklist`` (the verdict covers the protocol's
    requirements, not checklist completeness), and a requirement with ``check =
    "consort_checklist"`` is judged on it.
    """
    frame = validation.frame  # read only: rule ids and messages, as text, in finding order
    rule_ids = frame["rule_id"].astype(str).tolist()
    ids = _finding_ids(rule_ids)
    by_rule: dict[str, list[str]] = {}
    for rid, message in zip(rule_ids, frame["message"].astype(str).tolist(), strict=True):
        by_rule.setdefault(rid, []).append(message)
    rows = []
    measured = _Measured(trial)
    for req in protocol.requirements:
        if req.check == "consort_checklist":
            rows.append(_checklist_row(req, checklist))
            continue
        status = validation.rules.get(req.id)
        state = _VERDICT.get(status.status, "not assessable") if status else "not assessable"
        messages = by_rule.get(req.id, [])
        rows.append(
            {
                "id": req.id,
                "title": req.title,
                "requirement": req.text,
                "verdict": state,
                "rule_status": status.status if status else "not run",
                "reason": status.reason if status else "the rule did not run",
                "evidence": _evidence(trial, req, measured),
                "findings": messages[:10],
                "n_findings": status.n_findings if status else 0,
                "finding_ids": ids.get(req.id, []),
                "source": req.source,
                "confidence": req.confidence,
            }
        )
    states = {r["verdict"] for r in rows}
    errors = validation.counts["error"]
    if "not met" in states:
        overall = "does not conform"
    elif states != {"met"}:
        overall = "cannot be fully assessed"
    elif errors:
        overall = "requirements met; the data have error findings"
    else:
        overall = "conforms"
    gaps = _checklist_gaps(checklist, extensions=False)
    return {
        "overall": overall,
        "data_errors": errors,
        "requirements": rows,
        "checklist": {
            "missing": gaps["missing"],
            "partial": gaps["partial"],
            "required": any(r.check == "consort_checklist" for r in protocol.requirements),
        },
    }


class _MetadataText(metadata.Distribution):
    """A distribution whose metadata is `text`: its ``version`` parses `text` as Python does."""

    def __init__(self, text: str) -> None:
        self._text = text

    def read_text(self, filename: str) -> str:
        return self._text

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        raise FileNotFoundError(path)


@lru_cache(maxsize=64)
def _parsed_version(text: str) -> str:
    """Return the ``Version`` of the metadata `text` (parsing is most of a lookup)."""
    version: str = _MetadataText(text).version
    return version


def _version(name: str) -> str:
    """``importlib.metadata.version(name)``, the installed metadata parsed once per text.

    The metadata file is found and read on every call (a package installed, upgraded or
    removed meanwhile is seen); only the parsing of an unchanged text is remembered.
    """
    dist = metadata.distribution(name)
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("")
    return _parsed_version(text) if text else dist.version


def _versions() -> dict[str, str]:
    out = {"efficacy": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = _version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def appendices(validation: ValidationReport) -> dict[str, Any]:
    """Section 9: rule statuses, findings grouped by cause and every finding, software."""
    d = validation.to_dict()
    findings = [
        {"id": f"F-{i:04d}", **{k: v for k, v in f.items() if v is not None}}
        for i, f in enumerate(d["findings"], start=1)
    ]
    rules = [{"rule_id": rid, **_rule(r)} for rid, r in d["rules"].items()]
    return {
        "validation": {
            "ok": d["ok"],
            "counts": d["counts"],
            "n_listed": len(d["findings"]),
            "rules": rules,
            "groups": _groups(validation),
            "findings": findings,
        },
        "software": _versions(),
    }


def _groups(validation: ValidationReport) -> list[dict[str, Any]]:
    """Return the findings grouped by cause, each with the ids of its findings as text."""
    from efficacy.validation.findings import group_codes
    from efficacy.validation.render import group_count

    groups = validation.groups()
    if not groups:
        return []
    codes = group_codes(validation.frame)
    span = pd.Series(np.arange(1, len(codes) + 1)).groupby(codes).agg(["min", "max", "size"])
    out = []
    for g in groups:
        lo, hi, n = (int(x) for x in span.loc[codes[g.first]])
        first, last = f"F-{lo:04d}", f"F-{hi:04d}"
        if n == 1:
            ids = first
        elif hi - lo + 1 == n:
            ids = f"{first} to {last}"
        else:
            ids = f"{first}, ... ({n} findings)"
        out.append({**g.to_dict(), "ids": ids, "summary": group_count(g)})
    return out


def _rule(r: Mapping[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("title", "category", "severity", "status", "reason", "n_findings")}
