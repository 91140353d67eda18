"""A trial that compares several active arms with control: every output names the comparison.

The trial is the parallel sample with every second ACTIVE subject moved to a new active
arm LOWDOSE, so the analysis has two comparisons with VEHICLE (ACTIVE vs VEHICLE and
LOWDOSE vs VEHICLE). The expected values are the analysis rows themselves
(``AnalysisResult.to_frame()``): the outputs must read them, never pick one silently.

- The claims matrix: a claim that names its ``arm`` reads that comparison; one that names
  none cannot be assessed (it used to read the first comparison without saying so).
- The report's synopsis: the primary result and every results row say which comparison
  they are (the table used to list two unlabelled rows per endpoint).
- ``AnalysisResult.primary``: takes the ``arm``, and asks for it rather than return the
  first arm's row.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from efficacy import analyze, read_trial
from efficacy.regulatory import claims_matrix
from efficacy.report import build_report

BUNDLE = Path(__file__).resolve().parents[1] / "sample_data" / "parallel_12wk"
WRINKLE = "Visibly reduces wrinkle depth in 12 weeks"


@pytest.fixture(scope="module")
def three_arms(tmp_path_factory):
    """(trial, analysis) of the three-arm trial; its wrinkle claim names LOWDOSE."""
    root = tmp_path_factory.mktemp("arms") / "three_arms"
    shutil.copytree(BUNDLE, root)
    subjects = pd.read_csv(root / "subjects.csv", dtype=str, keep_default_na=False)
    active = subjects.index[subjects["arm"] == "ACTIVE"]
    subjects.loc[active[1::2], "arm"] = "LOWDOSE"
    subjects.to_csv(root / "subjects.csv", index=False)
    toml = (root / "trial.toml").read_text(encoding="utf-8")
    vehicle = '[[arms]]\nid = "VEHICLE"'
    wrinkle = 'endpoint = "wrinkle_rz"\nmin_effect = -5.0\n'
    assert toml.count(vehicle) == 1 and toml.count(wrinkle) == 1
    toml = toml.replace(
        vehicle, f'[[arms]]\nid = "LOWDOSE"\nlabel = "Half strength"\ncontrol = false\n\n{vehicle}'
    ).replace(wrinkle, wrinkle + 'arm = "LOWDOSE"\n')
    (root / "trial.toml").write_text(toml, encoding="utf-8")
    trial = read_trial(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = analyze(trial)
    assert analysis.analysed
    return trial, analysis


def _final_itt(analysis, endpoint: str | None = None) -> pd.DataFrame:
    """The ITT MMRM rows of the estimands (final visit), optionally of one endpoint."""
    rows = analysis.to_frame()
    keep = (
        (rows["population"] == "itt")
        & (rows["analysis"] == "mmrm")
        & (rows["estimand"].fillna("") != "")
    )
    if endpoint is not None:
        keep &= rows["endpoint"] == endpoint
    return rows[keep]


# --------------------------------------------------------------------------- claims matrix


@pytest.fixture(scope="module")
def matrix(three_arms):
    trial, analysis = three_arms
    return claims_matrix(trial, analysis, ["kr", "iso"])


def test_claim_without_arm_is_not_assessable_and_names_the_arms(matrix) -> None:
    unnamed = [c for c in matrix.cells if c.claim.arm is None and c.claim.endpoint != "tewl"]
    assert len(unnamed) == 3 * 2  # three claims without arm (TEWL has no estimate), 2 packs
    for cell in unnamed:
        assert cell.status == "not_assessable" and cell.estimate is None
        assert cell.reasons[-1] == (
            "estimate: the trial compares 2 active arms with control (ACTIVE, LOWDOSE); name "
            'the arm the claim rests on in its [[claims]] entry, e.g. arm = "ACTIVE"'
        )


def test_claim_names_its_arm_and_reads_that_comparison(three_arms, matrix) -> None:
    _, analysis = three_arms
    rows = _final_itt(analysis, "wrinkle_rz")
    assert rows["comparison"].tolist() == ["ACTIVE vs VEHICLE", "LOWDOSE vs VEHICLE"]
    row = rows[rows["active_arm"] == "LOWDOSE"].iloc[0]
    p = row["p_adjusted"] if pd.notna(row["p_adjusted"]) else row["p_value"]
    assert row["estimate"] <= -5.0 and p < 0.05  # so the claim is supported in both packs
    for code in ("kr", "iso"):
        cell = matrix.cell(WRINKLE, code)
        assert cell.claim.arm == "LOWDOSE" and cell.estimate is not None
        assert cell.estimate.comparison == "LOWDOSE vs VEHICLE"
        assert cell.estimate.estimate == row["estimate"] and cell.estimate.p_value == p
        assert cell.to_dict()["arm"] == "LOWDOSE" and cell.status == "supported"
    labels = [r[0] for r in matrix.table()["rows"]]
    assert labels[0] == f"{WRINKLE} (anti_wrinkle; wrinkle_rz <= -5; arm LOWDOSE)"


# --------------------------------------------------------------------------- synopsis


@pytest.fixture(scope="module")
def report3(three_arms):
    """The three-arm trial's report (the report only reads the analysis)."""
    trial, analysis = three_arms
    return build_report(trial, analysis=analysis)


@pytest.fixture(scope="module")
def html3(report3) -> str:
    return str(report3.to_html())


@pytest.fixture(scope="module")
def synopsis(report3):
    tables = report3.data["synopsis"]["tables"]
    return {t["id"]: t for t in tables}


def test_synopsis_primary_result_gives_every_comparison(three_arms, synopsis) -> None:
    _, analysis = three_arms
    rows = _final_itt(analysis, "cutometer_r2")
    assert rows["active_arm"].tolist() == ["ACTIVE", "LOWDOSE"]
    primary = dict(synopsis["synopsis"]["rows"])["Primary result"]
    parts = primary.split("; ")
    assert len(parts) == 2
    for part, row in zip(parts, rows.itertuples(), strict=True):
        assert part.startswith(
            f"Cutometer R2 (gross elasticity, Ua/Uf): difference ({row.active_arm} minus "
            "VEHICLE) in mean change from baseline at W12, ITT: "
        )
        assert f"{row.estimate:.4f} ({row.conf_low:.4f}, {row.conf_high:.4f})" in part


def test_synopsis_results_rows_name_their_comparison(three_arms, synopsis) -> None:
    _, analysis = three_arms
    table = synopsis["synopsis_results"]
    assert table["header"][:3] == ["Endpoint", "Comparison", "Role"]
    rows = _final_itt(analysis)
    rows = rows[rows["role"].isin(["primary", "key secondary"])]
    assert [r[1] for r in table["rows"]] == rows["comparison"].tolist()
    assert len(set(map(tuple, table["rows"]))) == len(table["rows"])  # no two rows alike
    assert table["footnotes"][0].endswith(
        "Adjusted p: the key secondary family of each comparison (holm across 3 key "
        "secondary endpoints). Each comparison with control is tested at the full alpha; "
        "the comparisons are not adjusted for one another."
    )


def test_synopsis_text_columns_wrap_in_the_html(html3, samples) -> None:
    """Endpoint, comparison and role are text: left-aligned, free to wrap (a right-aligned
    cell never wraps, and "ACTIVE vs VEHICLE" ran into "key secondary" in the PDF)."""
    three = html3
    two = samples.html("parallel_12wk")
    assert (
        "<thead><tr><th>Endpoint</th><th>Comparison</th><th>Role</th>"
        '<th class="r">Visit</th>' in three
    )
    assert '<thead><tr><th>Endpoint</th><th>Role</th><th class="r">Visit</th>' in two


def test_two_arm_synopsis_has_no_comparison_column(samples) -> None:
    """With one comparison the table keeps its columns (the rows cannot be confused)."""
    tables = {t["id"]: t for t in samples.report("parallel_12wk").data["synopsis"]["tables"]}
    table = tables["synopsis_results"]
    assert table["header"] == [
        "Endpoint",
        "Role",
        "Visit",
        "Difference (95% CI)",
        "p",
        "Adjusted p",
    ]
    assert "of each comparison" not in table["footnotes"][0]


# --------------------------------------------------------------------------- Python API


def test_primary_needs_the_arm_when_there_are_several(three_arms) -> None:
    from efficacy.errors import EfficacyError

    _, analysis = three_arms
    with pytest.raises(EfficacyError) as err:
        analysis.primary("itt")
    assert str(err.value) == (
        "the trial compares 2 active arms with control (ACTIVE, LOWDOSE): name one, "
        "e.g. primary('itt', arm='ACTIVE')"
    )
    rows = _final_itt(analysis, "cutometer_r2")
    for arm in ("ACTIVE", "LOWDOSE"):
        want = rows[rows["active_arm"] == arm].iloc[0]
        pd.testing.assert_series_equal(analysis.primary("itt", arm=arm), want)
    with pytest.raises(EfficacyError, match=r"^arm='VEHICLE': no primary estimand row"):
        analysis.primary("itt", arm="VEHICLE")


def test_primary_of_a_two_arm_trial_needs_no_arm(samples) -> None:
    analysis = samples.analysis("parallel_12wk")
    pd.testing.assert_series_equal(analysis.primary("itt", arm="ACTIVE"), analysis.primary("itt"))


# --------------------------------------------------------------------------- section 6 summary


def test_estimates_summary_rows_name_their_comparison(report3, html3, samples) -> None:
    """Section 6's table of all endpoints: each row says which comparison it is, in the
    HTML (under the population) and in the DOCX/RTF shell; two-arm tables do not."""
    from efficacy.report._adapt_outcomes import _summary

    report = report3
    summary = report.data["efficacy"]["result"]["summary"]
    comparisons = [x["comparison"] for x in summary]
    assert set(comparisons) == {"ACTIVE vs VEHICLE", "LOWDOSE vs VEHICLE"}
    html = html3
    for comparison in set(comparisons):
        tag = f'<span class="cmp">{comparison}</span>'
        assert html.count(tag) == comparisons.count(comparison)
    shell = _summary(report.data["efficacy"]["result"], "95", False)
    cells = [r.cells[0] for r in shell.rows if not r.group]
    assert cells == [f"{x['population_label']}\n{x['comparison']}" for x in summary]
    # the note under the table says how the comparisons are tested
    note = (
        "Each comparison with control has its own family and is tested at the full level; "
        "the comparisons are not adjusted for one another."
    )
    assert note in html and note in shell.footnotes[0]
    assert note not in samples.html("parallel_12wk")
    assert 'class="cmp"' not in samples.html("parallel_12wk")
    two = _summary(samples.report("parallel_12wk").data["efficacy"]["result"], "95", False)
    assert all("\n" not in r.cells[0] for r in two.rows)


def test_tipping_points_name_their_comparison(report3, html3) -> None:
    """One tipping-point analysis per comparison and population: each heading, title and
    table id says which comparison it is (two headings read alike before)."""
    from efficacy.report._adapt_outcomes import _tipping
    from efficacy.report._blocks import Heading, Table

    tips = report3.data["efficacy"]["result"]["sensitivity"]
    assert [(t["population"], t["comparison"]) for t in tips] == [
        ("itt", "ACTIVE vs VEHICLE"),
        ("itt", "LOWDOSE vs VEHICLE"),
        ("per_protocol", "ACTIVE vs VEHICLE"),
        ("per_protocol", "LOWDOSE vs VEHICLE"),
    ]
    html = html3
    for t in tips:
        assert (
            f"Missing-data sensitivity: tipping point, {t['label']}, {t['population_label']}, "
            f"{t['comparison']}</h3>" in html
        )
    blocks = [b for t in tips for b in _tipping(t, "95", "6.9", True)]
    headings = [b.text for b in blocks if isinstance(b, Heading)]
    ids = [b.shell.id for b in blocks if isinstance(b, Table)]
    assert len(set(headings)) == len(headings) == 4
    # a grid table only where a tipping point exists (the ITT ones here), ids distinct
    assert ids == [
        "efficacy.tipping.cutometer_r2.itt.ACTIVE-vs-VEHICLE",
        "efficacy.tipping.cutometer_r2.itt.LOWDOSE-vs-VEHICLE",
    ]


def test_forest_plot_tells_the_comparisons_apart(report3, samples) -> None:
    """Figure 6.1 draws one series per population and comparison, each in the legend (the
    two comparisons' markers were alike before); a two-arm figure keeps one per
    population, and split-face reads its design, not the comparison text."""
    from efficacy.report.outcome_figures import forest_svg

    summary = report3.data["efficacy"]["result"]["summary"]
    svg = forest_svg(summary, "forest", "95")
    for pop in ("ITT", "Per protocol"):
        for comparison in ("ACTIVE vs VEHICLE", "LOWDOSE vs VEHICLE"):
            assert f"{pop}, {comparison}" in svg
    two = samples.report("parallel_12wk").data["efficacy"]["result"]["summary"]
    plain = forest_svg(two, "forest", "95")
    assert "ITT, ACTIVE vs VEHICLE" not in plain and "(active \u2212 control)" in plain
    assert "(treated \u2212 control site)" in forest_svg(two, "forest", "95", split=True)


def test_difference_table_caption_names_every_comparison(report3, html3) -> None:
    """Each endpoint's table of differences holds both comparisons, and its caption says so
    (it named the first comparison only)."""
    from efficacy.report._adapt_outcomes import _differences

    report = report3
    both = "ACTIVE vs VEHICLE; LOWDOSE vs VEHICLE"
    html = html3
    assert f"Treatment difference in LS mean change from baseline ({both}), by population" in html
    block = report.data["efficacy"]["result"]["endpoints"][0]
    shell = _differences(block, "95", "efficacy.x", False)
    assert shell.title.endswith(
        f"Treatment difference in LS mean change from baseline ({both}), by population"
    )


def test_lsmeans_list_the_active_arms_then_the_control(report3, samples) -> None:
    """LS-means tables (and Figure 6.2, which follows them) list the active arms, then the
    control, as every other table does (VEHICLE came between the two active arms)."""
    blocks = report3.data["efficacy"]["result"]["endpoints"]
    assert {tuple(p["arms"]) for b in blocks for p in b["populations"]} == {
        ("ACTIVE", "LOWDOSE", "VEHICLE")
    }
    two = samples.report("parallel_12wk").data["efficacy"]["result"]["endpoints"]
    assert {tuple(p["arms"]) for b in two for p in b["populations"]} == {("ACTIVE", "VEHICLE")}
