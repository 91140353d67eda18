"""Report sections 6 (efficacy) and 7 (PROs) against ``efficacy.analyze`` directly.

The numbers in the JSON must be the analysis result's own (no rounding: exact
equality); the HTML must show them rounded as the section states (the second
significant digit of the smallest SE of the endpoint's differences, Cole BMJ 2015),
which the tests recompute here by hand from the analysis values.
"""

from __future__ import annotations

import copy
import html
import math
import re
from pathlib import Path

import pytest

from efficacy.analysis import analyze
from efficacy.protocol import load_protocol
from efficacy.report import build_report
from efficacy.report._endpoints import precision
from efficacy.report._format import MINUS, fixed, pval
from efficacy.report.outcome_figures import outcome_figures
from efficacy.report.outcomes import outcome_sections, run_analysis

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def parallel(samples):
    result = samples.analysis("parallel_12wk")  # analyze(trial, "iso-efficacy-2025")
    # build_report(trial, protocol, analysis=result), shared with the other report tests;
    # Samples.report checks that it leaves the analysis unmodified
    report = samples.report("parallel_12wk")
    return result, report, samples.html("parallel_12wk")


def _block(section: dict, endpoint: str) -> dict:
    return next(b for b in section["result"]["endpoints"] if b["endpoint"] == endpoint)


def _text(page: str) -> str:
    """Visible text of the HTML (tags dropped, entities decoded, spaces collapsed)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_format_helpers() -> None:
    assert fixed(-0.052754, 4) == f"{MINUS}0.0528"
    assert fixed(-0.00004, 3) == "0.000"  # no signed zero
    assert fixed(None, 2) == "-"
    # a near-zero-df interval of a 2-subject trial: scientific, so it fits its cell
    assert fixed(-7.0675907744860115e147, 3) == f"{MINUS}7.1e+147"
    assert fixed(999_999_999.0, 1) == "999999999.0" and fixed(1e9, 1) == "1.0e+09"
    assert [pval(x) for x in (2.9e-27, 0.0468, 0.04962, 0.0504, 0.15, 1.0, None)] == [
        "<0.001",
        "0.047",
        "0.0496",
        "0.0504",
        "0.150",
        ">0.999",
        "-",
    ]
    # SE 0.00283 -> second significant digit at the 4th decimal; SE 1.17 -> 1st; 21.4 -> 0
    assert [precision([0.00283, 0.0036]), precision([1.17]), precision([21.4])] == [4, 1, 0]
    assert precision([None, math.nan]) == 2


def test_primary_estimand_equals_analyze(parallel) -> None:
    result, report, page = parallel
    row = result.primary("itt")
    block = _block(report.data["efficacy"], "cutometer_r2")
    assert block["role"] == "primary" and block["unit"] == "ratio"
    itt = block["populations"][0]
    final = next(d for d in itt["differences"] if d["final"])
    assert final["visit"] == row["visit"] == "W12"
    for key in ("estimate", "std_error", "conf_low", "conf_high", "p_value", "df"):
        assert final[key] == row[key]  # exact: the JSON is not rounded
    d = precision([x["std_error"] for p in block["populations"] for x in p["differences"]])
    assert block["decimals"] == d == 4  # smallest SE of the R2 differences is 0.00283
    text = _text(page)
    shown = f"{row['estimate']:.4f} ({row['std_error']:.5f}) {row['conf_low']:.4f}, "
    shown += f"{row['conf_high']:.4f} <0.001"
    assert shown == "0.0528 (0.00365) 0.0455, 0.0600 <0.001"
    assert shown in text
    eff = result.effect_sizes
    g = eff[(eff["endpoint"] == "cutometer_r2") & (eff["population"] == "itt")].iloc[0]
    assert final["hedges_g"] == g["hedges_g"]
    assert f"{g['hedges_g']:.2f} ({g['conf_low']:.2f}, {g['conf_high']:.2f})" in text


def test_lsmean_equals_analyze(parallel) -> None:
    result, report, page = parallel
    ls = result.lsmeans
    sel = ls[(ls["endpoint"] == "corneometer") & (ls["population"] == "itt")]
    want = sel[(sel["arm"] == "ACTIVE") & (sel["visit"] == "W12")].iloc[0]
    block = _block(report.data["efficacy"], "corneometer")
    itt = block["populations"][0]
    assert itt["arms"] == ["ACTIVE", "VEHICLE"]  # active arm first
    row = next(r for r in itt["lsmeans"] if r["visit"] == "W12")
    cell = row["arms"]["ACTIVE"]
    assert row["final"] is True
    for key in ("estimate", "std_error", "conf_low", "conf_high"):
        assert cell[key] == want[key]
    est = result.to_frame()
    n = est[(est["endpoint"] == "corneometer") & (est["population"] == "itt")]
    assert cell["n"] == int(n.loc[n["visit"] == "W12", "n_active"].iloc[0]) == 52
    d = block["decimals"]
    assert d == 2  # smallest corneometer difference SE is 0.972: 2nd significant digit
    shown = f"52 {want['estimate']:.2f} ({want['std_error']:.3f}) "
    shown += f"{want['conf_low']:.2f}, {want['conf_high']:.2f}"
    assert shown == "52 13.93 (0.840) 12.26, 15.59"
    assert shown in _text(page)


def test_adjusted_p_only_for_the_family(parallel) -> None:
    result, report, _ = parallel
    est = result.to_frame()
    for ep, adjusted in (("cutometer_r2", False), ("wrinkle_rz", True), ("cutometer_r5", False)):
        block = _block(report.data["efficacy"], ep)
        assert block["adjusted"] is adjusted
        final = next(d for d in block["populations"][0]["differences"] if d["final"])
        want = est[(est["endpoint"] == ep) & (est["population"] == "itt")]
        want = want.loc[want["visit"] == "W12", "p_adjusted"].iloc[0]
        assert final["p_adjusted"] == (None if math.isnan(want) else want)
    rz = _block(report.data["efficacy"], "wrinkle_rz")
    assert rz["adjustment"] == "holm across 3 key secondary endpoints"


def test_pro_routing_and_order(parallel) -> None:
    result, report, _ = parallel
    eff, pros = report.data["efficacy"]["result"], report.data["pros"]["result"]
    # the analysis dict has a top-level "protocol" key: it must not land in section 7
    assert eff["analysis"]["protocol"] == result.protocol == "iso-efficacy-2025@1.0"
    assert "protocol" not in pros
    assert [b["endpoint"] for b in eff["endpoints"]] == [
        "cutometer_r2",
        "corneometer",
        "wrinkle_rz",
        "cutometer_r5",
        "cutometer_r7",
        "wrinkle_ra",
        "wrinkle_depth_max",
        "wrinkle_volume",
    ]
    assert [b["endpoint"] for b in pros["endpoints"]] == [
        "faceq_satisfaction_facial_appearance",
        "skindex16_symptoms",
        "skindex16_emotions",
        "skindex16_functioning",
        "faceq_psychological_function",
    ]
    assert all(
        [p["population"] for p in b["populations"]] == ["itt", "per_protocol"]
        for b in eff["endpoints"] + pros["endpoints"]
    )
    # overview: every endpoint's estimand, ITT and PP (13 x 2)
    assert len(eff["summary"]) == 26 and eff["summary"][0]["endpoint"] == "cutometer_r2"


def test_pro_statements(parallel) -> None:
    _, report, page = parallel
    pros = report.data["pros"]["result"]
    assert pros["faceq"] == {
        "conversion_table": "faceq_conversion_SYNTHETIC.csv",
        "synthetic": True,
        "metrics": {
            "psychological_function": ["rasch_0_100"],
            "satisfaction_facial_appearance": ["rasch_0_100"],
        },
        "all_rasch": True,
    }
    text = _text(page)
    assert "Rasch-transformed 0-100 scores" in text
    assert "synthetic stand-in" in text and "not valid FACE-Q scores" in text
    assert "higher = worse" in text
    sk = _block(report.data["pros"], "skindex16_emotions")
    assert (sk["direction"], sk["unit"]) == ("lower", "score 0-100")


def test_tipping_point(parallel) -> None:
    result, report, page = parallel
    tps = report.data["efficacy"]["result"]["sensitivity"]
    tp, want = tps[0], result.sensitivity[0]
    assert (tp["endpoint"], tp["population"]) == ("cutometer_r2", "itt")
    assert tp["tipping_delta"] == want.tipping_delta
    grid = want.table
    assert tp["mar"]["estimate"] == grid["estimate"].iloc[0]
    assert tp["delta_over_effect"] == want.tipping_delta / abs(grid["estimate"].iloc[0])
    flip = int((~grid["significant"]).to_numpy().argmax())
    assert {flip - 1, flip} <= set(tp["shown"])  # the rows around the tipping point
    text = _text(page)
    assert f"Tipping point: delta = {want.tipping_delta:.5f} ratio" in text
    assert "0.23026" in text
    # per protocol: no final value missing in the penalised arm, no tipping point
    assert tps[1]["tipping_delta"] is None and "holds for every delta" in text


def test_figures_are_inline_svg(parallel) -> None:
    *_, page = parallel
    # flow, forest, change (efficacy), subgroup forest, change (PROs)
    assert page.count("<svg") == 5
    assert "<style" not in page.split("</style>", 1)[1]  # no figure stylesheet leaks
    assert 'aria-label="Hedges&#x27; g forest plot' in page or "Hedges' g forest plot" in page


def test_figure_text_is_escaped(parallel) -> None:
    _, report, _ = parallel
    data = copy.deepcopy(report.to_dict())
    block = data["efficacy"]["result"]["endpoints"][0]
    for p in block["populations"]:
        p["arms"] = ["<script>$x$&", "VEHICLE"]
        for row in p["lsmeans"]:
            row["arms"]["<script>$x$&"] = row["arms"].pop("ACTIVE")
    svg = outcome_figures(data)["change_efficacy"]
    assert "<script>" not in svg and "&lt;script&gt;$x$&amp;" in svg


def test_not_analysed_and_not_run(samples) -> None:
    protocol = load_protocol("iso-efficacy-2025")
    trial = samples.trial("flawed_consort")  # read_trial(SAMPLES / "flawed_consort")
    sections = outcome_sections(run_analysis(trial, protocol), trial, protocol)
    assert sections["efficacy"]["status"] == "not_analysed"
    assert sections["efficacy"]["message"] == (
        "Efficacy analysis not performed: validation found 3 errors: not analysed (correct "
        "the data, or analyse anyway with efficacy report --force or efficacy analyze "
        "--force)."
    )
    assert sections["pros"]["message"].startswith("PRO analysis not performed: validation found")
    assert outcome_sections(None)["pros"]["status"] == "not_run"


def test_split_face_within_person(samples) -> None:
    protocol = samples.protocol
    trial = samples.trial("split_face_12wk")
    result = samples.analysis("split_face_12wk")
    sections = outcome_sections(result, trial, protocol)
    eff = sections["efficacy"]["result"]
    itt = eff["endpoints"][0]["populations"][0]
    assert itt["arms"] == ["ACTIVE - VEHICLE (within subject)"]
    final = next(d for d in itt["differences"] if d["final"])
    row = result.primary("itt")
    assert (final["comparison"], final["estimate"]) == (
        "ACTIVE site vs VEHICLE site",
        row["estimate"],
    )
    # PROs are per person: no within-person analysis, listed as not run with the reason
    pros = sections["pros"]["result"]
    assert pros["endpoints"] == [] and len(pros["skipped"]) == 10


def _json_numbers(node: object, nums: list[float], texts: list[str]) -> None:
    if isinstance(node, dict):
        for v in node.values():
            _json_numbers(v, nums, texts)
    elif isinstance(node, list):
        for v in node:
            _json_numbers(v, nums, texts)
    elif isinstance(node, bool) or node is None:
        return
    elif isinstance(node, int | float):
        nums.append(float(node))
    elif isinstance(node, str):
        texts.append(node)


def test_every_number_in_sections_6_7_comes_from_the_json(parallel) -> None:
    """Each number printed in sections 6-7 (figures aside) rounds a JSON value of them."""
    _, report, page = parallel
    body = page[page.index('<h2 id="s6">') : page.index('<h2 id="s8">')]
    body = re.sub(r"<svg.*?</svg>", " ", body, flags=re.S)
    text = _text(body).replace(MINUS, "-")
    nums: list[float] = []
    texts: list[str] = []
    _json_numbers({k: report.data[k] for k in ("efficacy", "subgroups", "pros")}, nums, texts)
    strings = " ".join(texts)
    tokens = set(re.findall(r"-?\d+(?:\.\d+)?", text))
    assert len(tokens) > 500
    # every JSON number printed at every number of decimals a token has: rounded as is,
    # or as a percentage (e.g. 95 from 0.95)
    shown: dict[int, set[str]] = {}
    unexplained = []
    for tok in sorted(tokens):
        decimals = len(tok.split(".")[1]) if "." in tok else 0
        if decimals not in shown:
            shown[decimals] = {f"{x:.{decimals}f}" for x in nums}
            shown[decimals] |= {f"{x / 0.01:.{decimals}f}" for x in nums}
        if not (tok in shown[decimals] or tok.lstrip("-") in strings):
            unexplained.append(tok)
    # section numbers (6.1, 7.2...), the CI level and the p thresholds are layout
    layout = {"0.001", "0.999"} | {f"{s}.{i}" for s in (6, 7) for i in range(1, 40)}
    assert sorted(set(unexplained) - layout) == []


def test_responder_rows_go_to_their_own_table(tmp_path: Path, samples) -> None:
    toml = tmp_path / "resp.toml"
    toml.write_text(
        'extends = "iso-efficacy-2025"\n\n[protocol]\nid = "resp-test"\nversion = "0.1"\n'
        'title = "responders"\n\n[[analysis.responders]]\nendpoint = "corneometer"\n'
        'kind = "percent"\nthreshold = 10\nlogistic = false\n',
        encoding="utf-8",
    )
    protocol = load_protocol(toml)
    trial = samples.trial("parallel_12wk")  # read_trial(SAMPLES / "parallel_12wk")
    result = analyze(trial, protocol)
    report = build_report(trial, protocol, analysis=result)
    eff = report.data["efficacy"]["result"]
    est = result.to_frame()
    want = est[~est["model"].str.contains("MMRM", regex=False)]
    assert len(eff["responders"]) == len(want) == 2  # ITT and per protocol
    assert eff["responders"][0]["estimate"] == want["estimate"].iloc[0]
    assert all("responder" not in b["endpoint"] for b in eff["endpoints"])
    text = _text(report.to_html())
    r0 = want.iloc[0]
    assert f"{r0['estimate']:.3f} {r0['conf_low']:.3f}, {r0['conf_high']:.3f}" in text


def test_model_appendix_equals_analysis_models(parallel) -> None:
    """Appendix 9.3 holds analyze()'s model records exactly and prints them rounded."""
    result, report, page = parallel
    ms = report.data["efficacy"]["result"]["models"]
    # one record per endpoint x population (13 x 2), ITT first, primary endpoint first
    assert len(ms["rows"]) == len(result.models) == 26
    assert [r["population"] for r in ms["rows"]] == ["itt"] * 13 + ["per_protocol"] * 13
    assert ms["rows"][0]["endpoint"] == "cutometer_r2" and ms["n_not_converged"] == 0
    assert ms["common"] == {
        "formula": "change ~ baseline + arm * visit",
        "method": "REML",
        "df_method": "kenward-roger",
        "covariance_planned": "us -> toeph -> ar1h -> cs",
    }
    assert ms["varying"] == []
    ref = result.models.set_index(["endpoint", "population"])
    for r in ms["rows"]:
        want = ref.loc[(r["endpoint"], r["population"])]
        assert r["neg2_loglik"] == want["neg2_loglik"] and r["aic"] == want["aic"]
        assert (r["iterations"], r["n_subjects"], r["n_obs"]) == (
            want["iterations"],
            want["n_subjects"],
            want["n_obs"],
        )
    body = _text(page[page.index("9.3 Model specifications") : page.index("9.4 Software")])
    first = ms["rows"][0]
    row = (
        f"{first['label']} ITT us yes {first['iterations']} ({first['optimizer']}) "
        f"120 / 460 {fixed(first['neg2_loglik'], 2)} {fixed(first['aic'], 2)}"
    )
    assert row in body  # e.g. "... 3 (newton) 120 / 460 -2446.49 -2426.49"
    assert "26 model(s), 0 not converged" in body
