"""efficacy classify: the paper's worked examples, one expectation per jurisdiction.

Expected categories follow the rules cited in efficacy/regulatory/_rules*.py (21 CFR
1271.10/1271.15(b) and FDA's 2019 exosome notification; Reg. (EC) 1394/2007, 1223/2009
Annex II/416 and Directive 2004/23/EC; Japan's ASRM risk classes; Korea's Cosmetics Act
and Advanced Regenerative Bio Act; China's prohibited-ingredient catalogue and Drug
Administration Law), for the examples of Xiao, Liao, Zhang & Guan (2025): same-surgery
autologous SVF, culture-expanded adipose-derived stem cells, a topical exosome serum and
injected exosomes (sample_data/products/).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from efficacy.errors import InputError
from efficacy.regulatory import (
    DISCLAIMER,
    JURISDICTIONS,
    classify,
    load_product,
    product_from_mapping,
)

PRODUCTS = Path(__file__).parents[2] / "sample_data" / "products"

EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "svf_same_surgery": {
        "US": ("excepted from 21 CFR 1271 (same surgical procedure)", "reported"),
        "EU": ("outside the tissues and cells rules (autologous, same procedure)", "reported"),
        "JP": ("regenerative medicine, risk class II (clinic use under ASRM)", "reported"),
        "KR": ("medical procedure (not a cell therapy product)", "reported"),
        "CN": ("drug (biological product)", "reported"),
    },
    "expanded_adsc": {
        "US": ("PHS Act section 351 biological product (HCT/P)", "reported"),
        "EU": (
            "advanced therapy medicinal product (somatic cell therapy or tissue-engineered "
            "product)",
            "stated",
        ),
        "JP": ("regenerative medicine, risk class II (clinic use under ASRM)", "reported"),
        "KR": ("cell therapy product (advanced biopharmaceutical)", "reported"),
        "CN": ("drug (biological product)", "reported"),
    },
    "exosome_serum": {
        "US": ("cosmetic (if every claim stays on appearance)", "uncertain"),
        "EU": ("prohibited cosmetic ingredient (product of human origin)", "stated"),
        "JP": ("cosmetic", "reported"),
        "KR": ("cosmetic with human cell culture fluid", "reported"),
        "CN": ("prohibited cosmetic ingredient (human origin)", "stated"),
    },
    "exosome_injection": {
        "US": ("PHS Act section 351 biological product (drug)", "stated"),
        "EU": ("medicinal product (biological, not an ATMP: no cells or genes)", "uncertain"),
        "JP": ("drug under the PMD Act (cell-free; outside ASRM)", "uncertain"),
        "KR": ("biological product (drug)", "uncertain"),
        "CN": ("drug (biological product)", "reported"),
    },
}


def _facts(**changes: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "name": "p",
        "material": "live_cells",
        "source": "autologous",
        "manipulation": "minimal",
        "homologous_use": True,
        "route": "injection",
        "same_surgical_procedure": False,
        "combined_with_other_articles": False,
        "systemic_effect": False,
        "intended_use": "cosmetic",
    }
    facts.update(changes)
    return facts


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_worked_examples(example: str) -> None:
    result = classify(load_product(PRODUCTS / f"{example}.toml"))
    got = {j: (result[j].category, result[j].certainty) for j in JURISDICTIONS}
    assert got == EXPECTED[example]
    for j in JURISDICTIONS:
        c = result[j]
        assert c.criteria and all(cr.source for cr in c.criteria)
        assert c.sources == tuple(dict.fromkeys(cr.source for cr in c.criteria))


def test_us_361_needs_every_criterion() -> None:
    base = classify(product_from_mapping(_facts()))["US"]
    assert base.category == "PHS Act section 361 HCT/P"
    assert [c.met for c in base.criteria][-5:-1] == [True, True, True, True]
    for change in (
        {"manipulation": "more_than_minimal"},
        {"homologous_use": False},
        {"combined_with_other_articles": True},
        {"source": "allogeneic"},  # living cells: metabolic activity needs autologous use
    ):
        assert classify(product_from_mapping(_facts(**change)))["US"].category.startswith(
            "PHS Act section 351"
        ), change


def test_eu_cosmetic_of_non_human_origin_is_a_cosmetic() -> None:
    plant = product_from_mapping(
        _facts(material="conditioned_medium", source="non_human", route="topical")
    )
    result = classify(plant)
    assert result["EU"].category == "cosmetic product"
    assert result["CN"].category.startswith("cosmetic")
    assert result["US"].category == "cosmetic"


def test_json_has_the_issue_keys_and_the_disclaimer_once() -> None:
    out = classify(load_product(PRODUCTS / "exosome_serum.toml")).to_dict()
    assert set(out) == {"product", "disclaimer", *JURISDICTIONS}
    for j in JURISDICTIONS:
        assert {
            "category",
            "pathway",
            "timeline",
            "evidence",
            "criteria",
            "sources",
            "certainty",
        } <= set(out[j])
    assert json.dumps(out).count(DISCLAIMER) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"material": "stem_cells"}, "material = 'stem_cells' is not one of svf, live_cells"),
        ({"homologous_use": "yes"}, "homologous_use must be true or false"),
        ({"material": "expanded_cells"}, "culture expansion is more than minimal manipulation"),
        ({"source": "allogeneic", "same_surgical_procedure": True}, 'needs source = "autologous"'),
    ],
)
def test_bad_facts_are_one_line_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as err:
        product_from_mapping(_facts(**changes))
    assert "\n" not in str(err.value)


def test_missing_key_is_named() -> None:
    facts = _facts()
    del facts["route"]
    with pytest.raises(InputError, match="missing key 'route'"):
        product_from_mapping(facts)


def test_cli_text_json_and_bad_file(tmp_path: Path, cli) -> None:
    from efficacy.cli import main

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return cli("classify", *argv)  # `efficacy classify ...` in-process (tests/conftest.py)

    assert main is not None
    text = run(str(PRODUCTS / "exosome_injection.toml"))
    assert text.returncode == 0
    assert "US  PHS Act section 351 biological product (drug)  [stated]" in text.stdout
    assert text.stdout.count(DISCLAIMER) == 1
    data = json.loads(run(str(PRODUCTS / "exosome_injection.toml"), "--format", "json").stdout)
    assert data["EU"]["certainty"] == "uncertain"
    bad = tmp_path / "p.toml"
    bad.write_text('[product]\nname = "x"\nmaterial = "magic"\n', encoding="utf-8")
    err = run(str(bad))
    assert err.returncode == 2
    assert err.stderr.count("\n") == 1 and "Traceback" not in err.stderr
