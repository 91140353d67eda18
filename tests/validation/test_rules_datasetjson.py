"""Rules DSJ-001..006 turn the Dataset-JSON problems a reader kept into findings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from efficacy.io.datasetjson import DATASET_JSON_RULES, read_datasetjson
from efficacy.validation.context import Context
from efficacy.validation.findings import NotApplicable
from efficacy.validation.rules_datasetjson import PROBLEMS_KEY, RULES, problem_records

REF = Path(__file__).resolve().parents[1] / "reference" / "datasetjson"


def test_one_rule_per_dataset_json_rule() -> None:
    assert [r.id for r in RULES] == list(DATASET_JSON_RULES) == [f"DSJ-00{i}" for i in range(1, 7)]
    assert {r.category for r in RULES} == {"schema"}


def test_findings_from_kept_problems(samples) -> None:
    trial = samples.trial("parallel_12wk")
    ctx = Context(trial, samples.protocol)
    with pytest.raises(NotApplicable, match="no Dataset-JSON input"):
        list(RULES[3].check(ctx))
    _, _, problems = read_datasetjson(REF / "adadas.dsjc")
    raw = {**trial.manifest.raw, "adam": {PROBLEMS_KEY: problem_records(problems, "measurements")}}
    ctx = Context(
        dataclasses.replace(trial, manifest=dataclasses.replace(trial.manifest, raw=raw)),
        samples.protocol,
    )
    found = list(RULES[3].check(ctx))  # DSJ-004
    assert len(found) == 2158 and all(not list(r.check(ctx)) for r in RULES if r.id != "DSJ-004")
    first = found[0]
    assert (first["table"], first["column"], first["row"], first["severity"]) == (
        "measurements",
        "AVAL",
        375,
        "warning",
    )
    assert first["message"].startswith(f"{REF / 'adadas.dsjc'} /rows/374/26: AVAL (dataType")
