"""The Report model: sections, escaping, determinism, numbers in HTML = JSON."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from efficacy.errors import EfficacyError
from efficacy.report import NOT_RUN, build_report
from tests.consort.bundle_factory import make_bundle, r2

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"


@pytest.fixture(scope="module")
def parallel(samples):
    return samples.trial("parallel_12wk"), samples.report("parallel_12wk", analysed=False)


@pytest.fixture(scope="module")
def split_face(samples):
    return samples.trial("split_face_12wk"), samples.report("split_face_12wk", analysed=False)


def _table(report, section: str, table_id: str) -> dict:
    return next(t for t in report.data[section]["tables"] if t["id"] == table_id)


def _row(table: dict, label: str, after: str | None = None) -> dict:
    rows = table["rows"]
    start = 0 if after is None else next(i for i, r in enumerate(rows) if r["label"] == after)
    return next(r for r in rows[start:] if r["label"] == label)


def test_sections_present_and_analysis_not_run(parallel, samples) -> None:
    _, report = parallel
    assert set(report.data) == {
        "schema",
        "synopsis",
        "populations",
        "deviations",
        "subgroups",
        "title_block",
        "verdict",
        "flow",
        "checklist",
        "baseline",
        "estimands",
        "efficacy",
        "pros",
        "harms",
        "claims",
        "appendices",
    }
    assert report.data["claims"]["status"] == "not analysed"
    assert report.data["efficacy"] == {"status": "not_run", "message": NOT_RUN, "result": None}
    assert "Efficacy analysis not run" in samples.html("parallel_12wk", analysed=False)
    tb = report.data["title_block"]
    assert (tb["protocol"]["id"], tb["protocol"]["version"]) == ("iso-efficacy-2025", "1.0")
    assert [f["file"] for f in tb["inputs"]] == [
        "trial.toml",
        "adverse_events.csv",
        "deviations.csv",
        "measurements.csv",
        "pro_responses.csv",
        "subjects.csv",
        "faceq_conversion_SYNTHETIC.csv",  # the FACE-Q conversion table is an input too
    ]
    assert all(re.fullmatch(r"[0-9a-f]{64}", f["sha256"]) for f in tb["inputs"])


def test_verdict_sample_parallel_conforms(parallel) -> None:
    _, report = parallel
    v = report.data["verdict"]
    assert v["overall"] == "conforms"
    assert [r["id"] for r in v["requirements"]] == [
        "ISO-DUR",
        "ISO-ELAST",
        "ISO-HYD",
        "ISO-WRINKLE",
        "ISO-FACEQ",
        "ISO-SKINDEX",
        "ISO-RCT",
    ]
    assert {r["verdict"] for r in v["requirements"]} == {"met"}
    assert v["requirements"][0]["evidence"] == (
        "planned follow-up 12 weeks; completers' median observed follow-up 11.9 weeks (n = 110)"
    )


def test_verdict_cites_finding_ids_listed_in_the_appendix(samples) -> None:
    # sample_data/flawed_design: 8-week follow-up, so ISO-DUR is not met
    report = samples.report("flawed_design", analysed=False)  # build_report(read_trial(...))
    dur = next(r for r in report.data["verdict"]["requirements"] if r["id"] == "ISO-DUR")
    assert dur["verdict"] == "not met" and dur["finding_ids"]
    # the same observed follow-up as validation's ISO-DUR message (8.0 weeks, n = 19)
    assert "observed follow-up 8.0 weeks (n = 19)" in dur["evidence"]
    assert "8.0 weeks (n = 19)" in dur["findings"][0]
    listed = {f["id"]: f for f in report.data["appendices"]["validation"]["findings"]}
    assert all(listed[i]["rule_id"] == "ISO-DUR" for i in dur["finding_ids"])
    assert report.data["verdict"]["overall"] == "does not conform"


def test_verdict_with_data_errors_is_not_conforms(samples) -> None:
    # sample_data/flawed_consort: every ISO requirement is met, but CON-* rules find
    # 3 errors (README defects 1-3)
    report = samples.report("flawed_consort", analysed=False)  # build_report(read_trial(...))
    v = report.data["verdict"]
    assert v["data_errors"] == 3
    assert v["overall"] == "requirements met; the data have error findings"


def test_baseline_numbers_against_pandas(parallel) -> None:
    _, report = parallel
    s = pd.read_csv(SAMPLES / "parallel_12wk" / "subjects.csv")
    active = s[(s["arm"] == "ACTIVE") & s["randomized"]]
    table = _table(report, "baseline", "demographics")
    assert [c["head"] for c in table["columns"]] == ["(N=60)", "(N=60)", "(N=120)"]
    mean_sd = _row(table, "Mean (SD)", after="Age (years)")["cells"]["ACTIVE"]
    assert mean_sd["mean"] == pytest.approx(active["age"].mean(), rel=1e-9)
    assert mean_sd["sd"] == pytest.approx(active["age"].std(ddof=1), rel=1e-9)
    assert mean_sd["text"] == f"{active['age'].mean():.1f} ({active['age'].std(ddof=1):.2f})"
    female = _row(table, "Female")["cells"]["ACTIVE"]
    assert (female["n"], female["text"]) == (43, "43 (71.7)")  # 43/60 females in subjects.csv
    assert int((active["sex"] == "F").sum()) == 43
    assert _row(table, "VI")["cells"]["TOTAL"]["text"] == "0 (0.0)"  # zero row shown


def test_baseline_primary_endpoint_against_pandas(parallel) -> None:
    _, report = parallel
    m = pd.read_csv(SAMPLES / "parallel_12wk" / "measurements.csv")
    s = pd.read_csv(SAMPLES / "parallel_12wk" / "subjects.csv")
    base = m[(m["visit"] == "W0") & (m["endpoint"] == "cutometer_r2")]
    per = base.groupby("subject_id")["value"].mean()
    vehicle = per[per.index.isin(s.loc[s["arm"] == "VEHICLE", "subject_id"])]
    table = _table(report, "baseline", "endpoints")
    label = next(r["label"] for r in table["rows"] if r["label"].endswith("(primary)"))
    cell = _row(table, "Median", after=label)["cells"]["VEHICLE"]
    assert cell["median"] == pytest.approx(float(np.median(vehicle)), rel=1e-9)


def _hrow(report, key: str, label: str) -> dict:
    return next(r for r in report.data["harms"][key] if r["label"] == label)


def test_harms_against_the_sample_readme(parallel) -> None:
    # sample_data/parallel_12wk/README.md: 40 adverse events; erythema 10; appendicitis 1
    _, report = parallel
    anyae = _hrow(report, "summary", "Any adverse event")["cells"]["TOTAL"]
    assert anyae["events"] == 40
    assert report.data["harms"]["coded"]  # soc / pt columns: by class and term
    assert _hrow(report, "by_soc_pt", "Erythema")["cells"]["TOTAL"]["events"] == 10
    assert _hrow(report, "by_soc_pt", "Appendicitis")["cells"]["TOTAL"]["events"] == 1
    # within a class, descending incidence: erythema (8 participants, 10 events) first;
    # ties by events, then alphabetically
    skin = [r["label"] for r in report.data["harms"]["by_soc_pt"] if r["level"] == 2][:6]
    assert skin == [
        "Erythema",
        "Dry skin",
        "Pruritus",
        "Burning sensation",
        "Contact dermatitis",
        "Stinging",
    ]
    ae = pd.read_csv(SAMPLES / "parallel_12wk" / "adverse_events.csv")
    assert anyae["n"] == ae["subject_id"].nunique()
    serious = _hrow(report, "summary", "Serious adverse event")["cells"]
    assert serious["ACTIVE"]["text"] == "0 (0.0) [0]"  # zero-event row shown
    deaths = _hrow(report, "summary", "Fatal (deaths)")["cells"]  # fatal column: a row
    assert deaths["TOTAL"]["text"] == "0 (0.0) [0]"


def test_numbers_in_html_come_from_json(parallel, samples) -> None:
    _, report = parallel
    page = samples.html("parallel_12wk", analysed=False)  # report.to_html()
    for table in report.data["baseline"]["tables"]:
        for row in table["rows"][:12]:
            if not row["cells"]:
                continue
            cells = "".join(
                f'<td class="num">{html.escape(row["cells"][c["key"]]["text"])}</td>'
                for c in table["columns"]
            )
            assert f"<td>{html.escape(row['label'])}</td>{cells}" in page, row["label"]
    for section in ("synopsis", "populations", "deviations", "harms"):
        for table in report.data[section]["tables"]:
            for row in table["rows"]:
                for cell in row:
                    assert f">{escape(cell)}</td>" in page, (section, cell)
    flow = report.data["flow"]
    nb = "\u00a0"  # the diagram keeps "n = 150" together with no-break spaces
    assert f"Assessed for eligibility (n{nb}={nb}{flow['assessed']['n']})" in page
    assert f"Randomised (n{nb}={nb}{flow['randomised']['n']})" in page


def test_split_face_report_counts_sites(split_face, samples) -> None:
    _, report = split_face
    assert report.data["flow"]["randomised"] == {"n": 40, "sites": 80, "reasons": []}
    assert "within-person" in report.data["checklist"]["extensions"]
    harms = report.data["harms"]
    assert [c["key"] for c in harms["columns"]] == ["ACTIVE", "VEHICLE", "SYSTEMIC", "ALL"]
    ae = pd.read_csv(SAMPLES / "split_face_12wk" / "adverse_events.csv")
    anyae = _hrow(report, "summary", "Any adverse event")["cells"]
    assert anyae["ALL"]["events"] == len(ae)  # 22
    # events without a body site are not site-specific: 7 in adverse_events.csv
    assert anyae["SYSTEMIC"]["events"] == int(ae["body_site"].isna().sum())
    endpoints = _table(report, "baseline", "endpoints")
    assert [c["head"] for c in endpoints["columns"]] == ["(N=40 sites)", "(N=40 sites)"]
    assert "80\u00a0body sites" in samples.html("split_face_12wk", analysed=False)


def test_every_data_value_is_escaped(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    subjects = [
        (evil, "ACTIVE", "", "true", "true", "true", "true", "completed", "", 30, "F", "II"),
        (
            "S02",
            "VEHICLE",
            "",
            "true",
            "true",
            "true",
            "true",
            "discontinued",
            "<img src=x onerror=alert(2)>",
            40,
            "M",
            "III",
        ),
        ("S03", "", "", "false", "false", "false", "false", "screen_failure", "", 50, "F", "I"),
    ]
    meas = [r2(evil, "W0", 0.6), r2(evil, "W4", 0.7), r2("S02", "W0", 0.6)]
    aes = [(evil, "<b>rash</b>", "mild", "false", "true", 3, "face")]
    trial = make_bundle(tmp_path / "x", subjects, meas, aes)
    page = build_report(trial).to_html()
    assert "<script" not in page and "<img src=x" not in page and "<b>rash" not in page
    assert html.escape(evil) in page  # the id renders as text (appendix findings)
    assert "&lt;img src=x onerror=alert(2)&gt;" in page  # reason, in the SVG and tables


def test_json_is_deterministic(samples, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    trial = samples.trial("split_face_12wk")  # read_trial(SAMPLES / "split_face_12wk")
    before = trial.subjects.copy()
    a, b = build_report(trial).to_json(), build_report(trial).to_json()
    pd.testing.assert_frame_equal(trial.subjects, before)  # input not modified
    assert a == b
    assert json.loads(a)["title_block"]["generated_at"] == "2023-11-14T22:13:20Z"
    assert a == json.dumps(json.loads(a), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_analysis_must_be_an_analysis_result(tmp_path: Path) -> None:
    trial = make_bundle(
        tmp_path / "f",
        [
            ("S01", "ACTIVE", "", "true", "true", "true", "true", "completed", "", 30, "F", "II"),
        ],
        [r2("S01", "W0", 0.6)],
    )
    with pytest.raises(EfficacyError, match=r"must be an AnalysisResult from efficacy\.analyze"):
        build_report(trial, analysis=object())  # type: ignore[arg-type]


def test_write_is_atomic_and_checks_formats(tmp_path: Path, parallel) -> None:
    _, report = parallel
    paths = report.write(tmp_path / "out", ["json", "html"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json"]
    assert paths["json"].read_text(encoding="utf-8") == report.to_json()
    with pytest.raises(EfficacyError, match="html, pdf, json, docx, rtf"):
        report.write(tmp_path / "out", ["xlsx"])


def test_pdf_renders(tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    trial = make_bundle(
        tmp_path / "p",
        [
            ("S01", "ACTIVE", "", "true", "true", "true", "true", "completed", "", 30, "F", "II"),
        ],
        [r2("S01", "W0", 0.6)],
    )
    pdf = build_report(trial).to_pdf()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000


#: A small page with what the report's PDF is made of: @page margin boxes with counters,
#: headings, a list (its ::marker), a table with a repeated header (bold), an inline SVG
#: figure with text; one font family (each font embedded costs a subsetting).
_PAGE = """<html><head><style>
@page { size: A4; @bottom-right { content: "Page " counter(page) " of " counter(pages) } }
html { font-family: "DejaVu Sans" } h2 { break-after: avoid } tr { break-inside: avoid }
thead { display: table-header-group }
</style></head><body><h2>Section</h2><ol><li>first</li><li>second</li></ol>
<table><thead><tr><th>Arm</th><th>n</th></tr></thead><tbody>%s</tbody></table>
<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="60" height="20"
fill="#1f4e79"/><text x="5" y="35" font-family="DejaVu Sans">ACTIVE 60</text></svg>
<p>text%s</p></body></html>"""


def _weasyprint_pdf(page: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=page).write_pdf()


def test_pdf_is_weasyprints_pdf_byte_for_byte(monkeypatch) -> None:
    """The faster render (collector paused, no footnote styles, GSUB / GPOS / kern deleted
    before fontTools decompiles them) writes the very bytes of
    ``weasyprint.HTML(string=...).write_pdf()``, and leaves the collector and weasyprint's
    font subsetting as it found them."""
    pytest.importorskip("weasyprint")
    import gc
    import importlib
    from types import SimpleNamespace

    from efficacy._gc import gc_paused
    from efficacy.report import _weasy
    from efficacy.report._weasy import _lean_subset_module, html_class
    from efficacy.report.model import _pdf

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # no font timestamps
    page = _PAGE % ("<tr><td>ACTIVE</td><td>60</td></tr>" * 60, "")
    assert html_class() is not __import__("weasyprint").HTML  # the trimmed stylesheet is used
    fonts = importlib.import_module("weasyprint.pdf.fonts")
    subset, used = fonts.subset, []
    lean = _lean_subset_module()
    assert lean is not None  # fontTools 4.69 decompiles the dropped tables: the lean one runs

    class Spy(lean.Subsetter):
        def subset(self, font):
            used.append(sorted(font.keys()))
            super().subset(font)

    monkeypatch.setattr(
        _weasy, "_lean_subset_module", lambda: SimpleNamespace(Options=lean.Options, Subsetter=Spy)
    )
    stream = importlib.import_module("tinyhtml5.inputstream")
    own_regexes = stream.characters_until_regex
    assert _pdf(page) == _weasyprint_pdf(page)  # DejaVu Sans: GSUB, GPOS and kern dropped
    assert used and all({"GPOS", "GSUB", "kern"} <= set(tables) for tables in used)
    assert fonts.subset is subset  # weasyprint's own subsetting is back
    assert stream.characters_until_regex is own_regexes  # and tinyhtml5's own cache
    assert len(_weasy._chars_until_cache() or ()) >= 3  # the parse looked its regexes up
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a collector the caller switched off stays off
    finally:
        gc.enable()


def test_the_html_parser_cache_holds_the_expressions_tinyhtml5_builds(monkeypatch) -> None:
    """tinyhtml5 builds the expression of each ``chars_until`` look-up anew (its cache is
    stored under the wrong key); the cache the PDF render gives it answers with the very
    expression tinyhtml5 builds, for every look-up parsing a report page makes."""
    pytest.importorskip("weasyprint")
    import tinyhtml5
    from tinyhtml5 import inputstream

    from efficacy.report._weasy import _CharsUntil, fast_html_parsing

    built: list[tuple[object, object]] = []

    class Recording(dict):
        asked: object = None

        def __getitem__(self, key):
            self.asked = key
            return super().__getitem__(key)

        def __setitem__(self, key, value):
            built.append((self.asked, value))
            super().__setitem__(key, value)

    page = _PAGE % ("<tr><td>ACTIVE &amp; &lt;b&gt;</td><td>60</td></tr>" * 3, "<!-- x -->")
    monkeypatch.setattr(inputstream, "characters_until_regex", Recording())
    tree = tinyhtml5.parse(page)
    keys = {key for key, _ in built}
    assert len(built) > 20 and len(keys) >= 4  # rebuilt on every look-up
    for key, regex in built:
        assert _CharsUntil()[key].pattern == regex.pattern, key
    n_built = len(built)
    with fast_html_parsing():
        fast = tinyhtml5.parse(page)
    assert len(built) == n_built  # the fast parse asked its own cache, built nothing here
    assert isinstance(inputstream.characters_until_regex, Recording)  # put back

    def text(root) -> bytes:
        from xml.etree import ElementTree

        return ElementTree.tostring(root)

    assert text(fast) == text(tree)


def test_pdf_of_a_page_with_footnotes_keeps_weasyprints_styles(monkeypatch) -> None:
    """A document with footnotes needs the user-agent rules the faster render drops: it is
    rendered with weasyprint's own stylesheet (the trimmed one would change the PDF)."""
    pytest.importorskip("weasyprint")
    from efficacy.report._weasy import html_class
    from efficacy.report.model import _pdf

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    note = '<span style="float: footnote">a footnote</span>'
    page = _PAGE % ("<tr><td>ACTIVE</td><td>60</td></tr>", note)
    plain = _weasyprint_pdf(page)
    assert _pdf(page) == plain
    try:  # weasyprint 70 fails on the footnote call without its style; another may not
        trimmed: bytes | None = html_class()(string=page).write_pdf()
    except TypeError:
        trimmed = None
    assert trimmed != plain


def test_misuse(samples) -> None:
    with pytest.raises(EfficacyError, match="read_trial"):
        build_report("sample_data/parallel_12wk")  # type: ignore[arg-type]
    # a validation report of another trial is refused, naming both trials
    from efficacy.validation import validate

    other = validate(samples.trial("split_face_12wk"))
    with pytest.raises(EfficacyError, match=r"'SIM-SPLITFACE-12W'.*'SIM-PARALLEL-12W'"):
        build_report(samples.trial("parallel_12wk"), validation=other)


def test_html_is_self_contained(samples) -> None:
    page = samples.html("split_face_12wk", analysed=False)  # build_report(trial).to_html()
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert page.count("<svg") == 1 and "<style>" in page  # inline figure and CSS


@pytest.mark.parametrize(
    "bundle", ["flawed_integrity", "flawed_pro", "flawed_split_face", "flawed_design"]
)
def test_flawed_bundles_still_report(bundle: str, samples) -> None:
    # validation never raises on data, and neither does the report
    report = samples.report(bundle, analysed=False)  # build_report(read_trial(...))
    assert report.data["verdict"]["overall"] != "conforms"
    assert "<svg" in samples.html(bundle, analysed=False)


def test_software_versions_are_importlib_metadata_versions() -> None:
    """The appendix's versions (metadata parsed once per text) equal ``metadata.version``."""
    from importlib import metadata

    from efficacy.report import sections

    versions = sections._versions()
    for name in sections._PACKAGES:
        try:
            expected = metadata.version(name)
        except metadata.PackageNotFoundError:
            expected = "not installed"
        assert versions[name] == expected
    with pytest.raises(metadata.PackageNotFoundError):
        sections._version("no-such-distribution-efficacy")


def test_split_face_baseline_values_join_sites_like_a_left_merge() -> None:
    """Each allocated site gets every reading of it (NaN when unmeasured), per arm column,
    in the units' order; a reading without a body site matches no allocated site."""
    from efficacy.report.baseline import _by_site

    units = pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S2", "S2", "S3"],
            "arm": ["A", "B", "B", "A", None],
            "site": ["left", "right", "left", "right", "left"],
        }
    )
    readings = pd.DataFrame(
        {
            "subject_id": ["S2", "S1", "S1", "S1", "S3"],
            "body_site": ["left", "left", "left", None, "left"],
            "value": [3.0, 1.0, 1.5, 9.0, 7.0],
        }
    )
    cols = [{"key": "A"}, {"key": "B"}]
    out = _by_site(readings, units, cols)
    expected = units.merge(
        readings, left_on=["subject_id", "site"], right_on=["subject_id", "body_site"], how="left"
    )
    for key in ("A", "B"):
        merged = expected.loc[expected["arm"] == key, "value"].to_numpy(dtype=float)
        np.testing.assert_array_equal(out[key], merged)
    np.testing.assert_array_equal(out["A"], [1.0, 1.5, np.nan])
    np.testing.assert_array_equal(out["B"], [np.nan, 3.0])
