"""Report sections 1 (title block), 2 (verdict per requirement) and 9 (appendices).

Finding ids: the report numbers the validation findings ``F-0001``, ``F-0002``, ... in
the validation report's order (rule order, then row); the verdict cites them and the
appendix lists them.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from efficacy import __version__
from efficacy.protocol import Protocol, Requirement
from efficacy.trial import Trial
from efficacy.validation import ValidationReport

__all__ = ["MAX_FINDINGS", "appendices", "generated_at", "title_block", "verdict"]

#: Findings listed in the appendix (counts stay complete; the JSON lists the same ones).
MAX_FINDINGS = 500
_VERDICT = {"passed": "met", "failed": "not met"}
#: Libraries whose code produced numbers, figures or files of the report.
_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "patsy",
    "statsmodels",
    "pingouin",
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inputs(trial: Trial) -> list[dict[str, Any]]:
    """Input files with their SHA-256 (paths relative to the bundle folder)."""
    root = trial.manifest.path.parent if trial.manifest.path is not None else None
    files: list[tuple[str, Path]] = []
    if trial.manifest.path is not None:
        files.append(("manifest", trial.manifest.path))
    for name in sorted(trial.sources):
        src = trial.sources[name]
        if src.path is not None:
            files.append((name, Path(src.path)))
    out = []
    for role, path in files:
        try:
            shown = str(path.resolve().relative_to(root.resolve())) if root else path.name
        except ValueError:
            shown = path.name
        out.append({"role": role, "file": shown, "sha256": _sha256(path)})
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
        "inputs": _inputs(trial),
    }


def _evidence(trial: Trial, req: Requirement) -> str:
    """Say what the data show for `req` (a positive statement, whatever the status)."""
    p, m = req.parameters, trial.manifest
    if req.check == "duration":
        weeks = m.planned_weeks
        planned = f"planned follow-up {weeks:g} weeks" if weeks is not None else "no schedule"
        return planned + _observed(trial)
    if req.check == "instrumental":
        return _measured(trial, tuple(p.get("endpoints", ())))
    if req.check == "pro":
        pro = trial.pro_responses
        sel = pro[(pro["instrument"] == p.get("instrument")).fillna(False)]
        base, final = m.baseline_visit, m.final_visit.id if m.final_visit else None
        n = [
            int(sel.loc[(sel["visit"] == v).fillna(False), "subject_id"].nunique())
            for v in (base, final)
        ]
        return f"{p.get('instrument')} answered by {n[0]} at {base} and {n[1]} at {final}"
    if req.check == "controlled":
        s = trial.subjects
        rand = int(s["randomized"].astype("boolean").fillna(False).sum())
        ctl = ", ".join(a.id for a in m.control_arms) or "none declared"
        return f"{rand} randomised; design {m.design}; control: {ctl}"
    return ""


def _observed(trial: Trial) -> str:
    """Completers' median observed follow-up (last measurement day minus baseline day)."""
    base = {v.id: v.day for v in trial.manifest.visits}.get(trial.manifest.baseline_visit)
    s = trial.subjects
    done = s.loc[(s["disposition"] == "completed").fillna(False).to_numpy(dtype=bool)]
    m = trial.measurements
    m = m[m["subject_id"].isin(set(done["subject_id"])).fillna(False).to_numpy(dtype=bool)]
    last = m.groupby("subject_id")["day"].max().dropna()
    if base is None or last.empty:
        return ""
    weeks = (float(last.median()) - base) / 7
    return f"; completers' median observed follow-up {weeks:.1f} weeks (n = {len(last)})"


def _measured(trial: Trial, endpoints: tuple[str, ...]) -> str:
    meas = trial.measurements
    base = trial.manifest.baseline_visit
    final = trial.manifest.final_visit.id if trial.manifest.final_visit else None
    sel = meas[meas["endpoint"].isin(endpoints).fillna(False) & meas["value"].notna()]
    parts = []
    for ep, g in sel.groupby("endpoint", sort=True):
        at = [
            int(g.loc[(g["visit"] == v).fillna(False), "subject_id"].nunique())
            for v in (base, final)
        ]
        parts.append(f"{ep}: {at[0]} at {base}, {at[1]} at {final}")
    devices = sorted(set(sel["device"].dropna().astype(str)))
    if not parts:
        return "none of " + ", ".join(endpoints) + " measured"
    return "; ".join(parts) + (f" (device: {', '.join(devices)})" if devices else "")


def _finding_ids(frame: pd.DataFrame) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for i, rid in enumerate(frame["rule_id"].astype(str).tolist(), start=1):
        ids.setdefault(rid, []).append(f"F-{i:04d}")
    return ids


def verdict(trial: Trial, protocol: Protocol, validation: ValidationReport) -> dict[str, Any]:
    """Section 2: each requirement met / not met / not assessable, evidence, finding ids.

    ``overall`` is "conforms" only when every requirement is met and the data rules
    found no error; "requirements met; the data have error findings" when the
    requirements are met but the data rules found errors (``data_errors``, appendix 9).
    """
    frame = validation.to_frame()
    ids = _finding_ids(frame)
    rows = []
    for req in protocol.requirements:
        status = validation.rules.get(req.id)
        state = _VERDICT.get(status.status, "not assessable") if status else "not assessable"
        messages = frame.loc[frame["rule_id"] == req.id, "message"].astype(str).tolist()
        rows.append(
            {
                "id": req.id,
                "title": req.title,
                "requirement": req.text,
                "verdict": state,
                "rule_status": status.status if status else "not run",
                "reason": status.reason if status else "the rule did not run",
                "evidence": _evidence(trial, req),
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
    return {"overall": overall, "data_errors": errors, "requirements": rows}


def _versions() -> dict[str, str]:
    out = {"efficacy": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def appendices(validation: ValidationReport) -> dict[str, Any]:
    """Section 9: rule statuses, findings (first :data:`MAX_FINDINGS`), software."""
    d = validation.to_dict()
    findings = [
        {"id": f"F-{i:04d}", **{k: v for k, v in f.items() if v is not None}}
        for i, f in enumerate(d["findings"][:MAX_FINDINGS], start=1)
    ]
    rules = [{"rule_id": rid, **_rule(r)} for rid, r in d["rules"].items()]
    return {
        "validation": {
            "ok": d["ok"],
            "counts": d["counts"],
            "n_listed": len(d["findings"]),
            "shown": len(findings),
            "rules": rules,
            "findings": findings,
        },
        "software": _versions(),
    }


def _rule(r: Mapping[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("title", "category", "severity", "status", "reason", "n_findings")}
