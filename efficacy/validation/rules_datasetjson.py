"""Rules DSJ-001..006: conformance of CDISC Dataset-JSON input files (schema family).

The checks run when the file is read (:func:`efficacy.io.datasetjson.read_datasetjson`
returns typed :class:`~efficacy.io.datasetjson.DatasetProblem` records); a reader that
builds a Trial from Dataset-JSON files keeps them, as plain dicts
(:meth:`DatasetProblem.to_dict` plus the ``table`` the dataset feeds), in
``trial.manifest.raw["adam"]["dataset_problems"]`` (:data:`PROBLEMS_KEY`). These rules
turn them into findings (message: file, JSON Pointer, problem), so they are counted,
grouped and rendered like every other finding. A trial read from no Dataset-JSON file
makes them not applicable.

Not yet in :data:`efficacy.validation.registry.DATA_RULES`: listing them there adds six
rows to every report's rule appendix; it is done together with the ADaM reader that
stores the problems (issue 16).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from efficacy.io._dsj_meta import DATASET_JSON_RULES, PROBLEMS_KEY, problem_records
from efficacy.validation._rule import Check, Rule
from efficacy.validation.context import Context
from efficacy.validation.findings import NotApplicable, Part, at_trial

__all__ = ["PROBLEMS_KEY", "RULES", "problem_records"]


def _stored(ctx: Context) -> list[Mapping[str, Any]]:
    adam = ctx.manifest.raw.get("adam") if isinstance(ctx.manifest.raw, Mapping) else None
    problems = adam.get(PROBLEMS_KEY) if isinstance(adam, Mapping) else None
    if problems is None:
        raise NotApplicable("no Dataset-JSON input")
    return list(problems)


def _check(rule_id: str) -> Check:
    def check(ctx: Context) -> Iterator[Part]:
        for p in _stored(ctx):
            if p.get("rule_id") != rule_id:
                continue
            yield at_trial(
                table=str(p.get("table") or "manifest"),
                column=p.get("column"),
                row=p.get("row"),
                value=p.get("value"),
                severity=p.get("severity"),
                message=f"{p.get('file')} {p.get('pointer') or '/'}: {p.get('message')}",
                # one line per file and rule: the rule's title, without the values
                pattern=f"{p.get('file')}: {DATASET_JSON_RULES[rule_id].title}",
            )

    return check


RULES: tuple[Rule, ...] = tuple(
    Rule(r.id, r.title, r.description, "schema", r.severity, r.source, _check(r.id))
    for r in DATASET_JSON_RULES.values()
)
