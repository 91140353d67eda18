"""The public surface: subpackage __all__ lists hold what a user calls."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "efficacy.analysis": [
        "AnalysisResult",
        "ReferenceBasedAnalysis",
        "TippingPoint",
        "analyze",
        "final_visit_ancova",
        "intercurrent_events",
    ],
    "efficacy.consort": [
        "Checklist",
        "ChecklistEntry",
        "Flow",
        "consort_flow",
        "evaluate_checklist",
    ],
    "efficacy.instruments": [
        "ResponderRule",
        "ScoredTrial",
        "ScoringOptions",
        "derive_endpoints",
        "get_endpoint",
        "load_faceq_conversion",
        "load_faceq_scales",
        "prepare_measurements",
        "score_faceq",
        "score_skindex16",
        "score_trial",
    ],
    "efficacy.plan": [
        "PowerResult",
        "PowerSimulation",
        "SampleSizeResult",
        "Scenario",
        "ScenarioError",
        "load_scenario",
        "power_mmrm",
        "sample_size",
        "simulate_power",
    ],
    "efficacy.io": [
        "analysis_datasets",
        "read_adam",
        "read_adam_folder",
        "read_dataset",
        "read_datasetjson",
        "read_input",
        "read_trial",
        "write_datasetjson",
    ],
    "efficacy.protocol": [
        "DEFAULT_PROTOCOL",
        "AnalysisPlan",
        "Estimand",
        "IntercurrentEventSpec",
        "Protocol",
        "Requirement",
        "list_protocols",
        "load_protocol",
    ],
    "efficacy.rbmi": [
        "RESULT_COLUMNS",
        "ReferenceBasedResult",
        "impute_reference_based",
        "reference_based",
    ],
    "efficacy.regulatory": [
        "DISCLAIMER",
        "JURISDICTIONS",
        "JURISDICTION_PACKS",
        "ClaimCell",
        "ClaimsMatrix",
        "Classification",
        "ClassificationResult",
        "Criterion",
        "Product",
        "claims_matrix",
        "classify",
        "load_product",
        "product_from_mapping",
    ],
    "efficacy.report": ["Report", "build_report"],
    "efficacy.validation": [
        "RULES",
        "Finding",
        "FindingGroup",
        "RuleStatus",
        "ValidationReport",
        "rules_for",
        "validate",
    ],
}

# names dropped from __all__ that code and tests still import from the package
STILL_IMPORTABLE = {
    "efficacy.analysis": ["MODEL_COLUMNS", "RESULT_COLUMNS", "SUBGROUP_COLUMNS"],
    "efficacy.consort": ["ArmFlow", "Tally", "STATUSES", "allocated_units"],
    "efficacy.instruments": ["DERIVED_COLUMNS", "ENDPOINTS", "ScoringError", "FaceQScale"],
    "efficacy.plan": [],
    "efficacy.io": [],
    "efficacy.protocol": ["CHECKS", "SEVERITIES", "VALIDATION_PARAMETERS"],
    "efficacy.rbmi": [],
    "efficacy.regulatory": [],
    "efficacy.report": ["DEFAULT_FORMATS", "FORMATS", "NOT_RUN", "SCHEMA"],
    "efficacy.validation": ["CATEGORIES", "STATUSES", "ValidationFailedError"],
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_lists_what_a_user_calls(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == PUBLIC[name]
    for attr in [*module.__all__, *STILL_IMPORTABLE[name]]:
        assert getattr(module, attr) is not None, attr


def test_defect_planting_is_private() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("efficacy.sim.defects")
    private = importlib.import_module("efficacy.sim._defects")
    assert callable(private.plant_flow_mismatch)


def test_reference_based_is_exported_at_the_top() -> None:
    import efficacy
    from efficacy.rbmi import reference_based

    assert "reference_based" in efficacy.__all__
    assert efficacy.reference_based is reference_based
