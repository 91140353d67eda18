"""The Report model: every number of the report as plain data, then its renderers.

:func:`build_report` assembles sections 1-9 from the trial, its protocol, the
validation report, the CONSORT flow and checklist (and an analysis result when there is
one). :class:`Report` keeps them as one JSON-ready mapping; :meth:`Report.to_json`,
:meth:`Report.to_html`, :meth:`Report.to_pdf`, :meth:`Report.to_docx` (Word) and
:meth:`Report.to_rtf` (the tables, as submission TLFs) render only that mapping, so
every number in the HTML, PDF, DOCX and RTF is in the JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from typing import Protocol as TypingProtocol

from efficacy._atomic import FileSet, check_folder
from efficacy.analysis import AnalysisResult
from efficacy.consort import Checklist, Flow, consort_flow, evaluate_checklist
from efficacy.errors import EfficacyError
from efficacy.instruments import ScoredTrial
from efficacy.protocol import Protocol, load_protocol
from efficacy.report._format import fixed, pval, unit_text
from efficacy.report.baseline import baseline_tables
from efficacy.report.claims_section import claims_section
from efficacy.report.conduct import deviation_section, population_section
from efficacy.report.estimands import estimands_section
from efficacy.report.harms import harms_tables
from efficacy.report.outcomes import outcome_sections
from efficacy.report.reference_based import reference_based_section
from efficacy.report.sections import appendices, generated_at, title_block, verdict
from efficacy.report.shells import lead_text
from efficacy.report.subgroups import subgroup_section
from efficacy.report.synopsis import synopsis
from efficacy.trial import Trial
from efficacy.validation import ValidationReport

if TYPE_CHECKING:
    from jinja2 import Template

__all__ = [
    "CHECKLIST_SECTIONS",
    "DEFAULT_FORMATS",
    "FORMATS",
    "SCHEMA",
    "Report",
    "build_report",
]

#: Output formats, as file suffixes.
FORMATS: tuple[str, ...] = ("html", "pdf", "json", "docx", "rtf")
#: Formats written when none are named (``Report.write``, ``efficacy report``).
DEFAULT_FORMATS: tuple[str, ...] = ("html", "pdf", "json")
#: Identifier and version of the JSON layout.
SCHEMA = "efficacy.report/1"


@dataclass(frozen=True)
class Report:
    """A rendered-to-be report: sections 1-9 as one read-only JSON-ready mapping.

    Attributes
    ----------
    data : Mapping[str, Any]
        Keys ``schema``, ``synopsis`` (first, unnumbered), ``title_block`` (1),
        ``verdict`` (2), ``flow``, ``populations`` and ``deviations`` (3),
        ``checklist`` (4), ``baseline`` (5), ``estimands`` (the ICH E9(R1) attributes,
        before efficacy), ``efficacy``, ``subgroups`` and ``reference_based`` (the
        reference-based sensitivity analyses, when the plan declares any) (6),
        ``pros`` (7), ``harms``
        (8), ``appendices`` (9). The newer sections carry their tables as shells
        (``tables``, see :mod:`efficacy.report.shells`); ``claims`` (the claims matrix by
        jurisdiction, :mod:`efficacy.report.claims_section`) comes before the appendices.
    """

    data: Mapping[str, Any]

    def summary(self) -> str:
        """Plain-text summary: verdict per requirement, findings, primary estimate, inputs."""
        from efficacy._summaries import as_text, report_rows

        return as_text(report_rows(self.data))

    def _repr_html_(self) -> str:
        from efficacy._summaries import as_html, report_rows

        return as_html(report_rows(self.data))

    def to_dict(self) -> dict[str, Any]:
        """Return a deep copy of the report data (plain dicts and lists)."""
        # what json.loads(self.to_json()) gives (keys sorted), without its indentation:
        # the C encoder serialises only when no indent is asked for
        text = json.dumps(dict(self.data), sort_keys=True, ensure_ascii=False, allow_nan=False)
        data: dict[str, Any] = json.loads(text)
        return data

    def to_json(self) -> str:
        """Return the report as JSON: sorted keys, 2-space indent, UTF-8 text, no NaN."""
        return (
            json.dumps(
                dict(self.data), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
            )
            + "\n"
        )

    def to_html(self) -> str:
        """Return a self-contained HTML document (inline CSS and SVG, no network)."""
        return self._html(self._figures())

    def _figures(self) -> dict[str, str]:
        """Draw the figures as SVG: ``flow`` and those of sections 6-7."""
        from efficacy.report.figures import flow_svg
        from efficacy.report.outcome_figures import outcome_figures
        from efficacy.report.subgroup_figures import subgroup_forest_svg

        figures = {"flow": flow_svg(self.data["flow"]), **outcome_figures(self.data)}
        sub = self.data["subgroups"]
        for i in range(len(sub["comparisons"]) if sub["status"] == "run" else 0):
            figures[f"subgroups_{i}"] = subgroup_forest_svg(sub, i)
        return figures

    def _html(self, figures: Mapping[str, str]) -> str:
        from markupsafe import Markup

        fig = {k: Markup(v) for k, v in figures.items() if k != "flow"}
        return _template().render(
            r=self.to_dict(), css=Markup(_css()), svg=Markup(figures["flow"]), fig=fig
        )

    def to_docx(self) -> bytes:
        """Return the report as a Word document (.docx bytes; python-docx).

        Headings in Word's Heading 1/2 styles, real Word tables (submission table shells:
        ``(N=xx)`` column headers, header rows repeated on each page, numbers aligned on
        the decimal point), the figures as PNG images, landscape pages for wide tables.
        Byte-reproducible: every time stamp is the report's ``generated_at``. See
        :mod:`efficacy.report.docx`.
        """
        return self._docx(self._figures())

    def _docx(self, figures: Mapping[str, str]) -> bytes:
        from efficacy.report._raster import svg_png
        from efficacy.report.docx import render_docx

        return render_docx(self.data, {k: svg_png(v) for k, v in figures.items()})

    def to_rtf(self) -> str:
        """Return the report's tables as one RTF document (submission TLF style).

        Baseline, efficacy, PRO and harms tables, and the tables of any further section
        that carries table shells, each on its own page with its title and footnotes, in
        report order. Byte-reproducible. See :mod:`efficacy.report.rtf`.
        """
        from efficacy.report.rtf import render_rtf

        return render_rtf(self.data)

    def to_pdf(self) -> bytes:
        """Return the report as PDF (A4), rendered from :meth:`to_html` by weasyprint.

        Raises
        ------
        EfficacyError
            If weasyprint is not installed (``pip install weasyprint``).
        """
        return _pdf(self.to_html())

    def write(
        self,
        out_dir: str | os.PathLike[str],
        formats: Iterable[str] = DEFAULT_FORMATS,
        stem: str = "report",
    ) -> dict[str, Path]:
        """Write the report as ``<out_dir>/<stem>.<format>`` for each format, as one set.

        `formats` are among :data:`FORMATS` (default :data:`DEFAULT_FORMATS`: html, pdf,
        json); the figures are drawn once for the HTML, the PDF and the DOCX.

        The folder is checked first (:func:`efficacy._atomic.check_folder`); every
        format is rendered to a temporary file, and the files are renamed into place
        together at the end, so an interrupted or failed call leaves the previous set of
        files (never the HTML of one trial beside the JSON of another), and no
        temporary files. Files get mode 0666 minus the umask (0644 under umask 022).

        Returns
        -------
        dict
            Format -> path written.

        Raises
        ------
        EfficacyError
            Unknown formats; :class:`~efficacy.errors.InputError` when `out_dir` cannot
            be written.
        """
        formats = tuple(formats)
        bad = [f for f in formats if f not in FORMATS]
        if bad or not formats:
            raise EfficacyError(
                f"formats={list(formats)!r}: use one or more of {', '.join(FORMATS)}"
            )
        out = check_folder(out_dir, "out_dir")
        if "pdf" in formats:
            _weasyprint()  # fails before anything is written when weasyprint is missing
        figures = self._figures() if {"html", "pdf", "docx"} & set(formats) else {}
        html = self._html(figures) if {"html", "pdf"} & set(formats) else ""
        written = {}
        with FileSet() as files:  # every file rendered first, then renamed together
            for fmt in formats:
                payload: bytes
                if fmt == "pdf":
                    payload = _pdf(html)
                elif fmt == "docx":
                    payload = self._docx(figures)
                elif fmt == "rtf":
                    payload = self.to_rtf().encode("ascii")
                else:
                    payload = (html if fmt == "html" else self.to_json()).encode("utf-8")
                written[fmt] = files.add(out / f"{stem}.{fmt}", payload)
        return written


def _num(value: Any) -> Any:
    """Jinja filter: a float at 4 significant digits (rounding only when rendering)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else value


class _PdfSource(TypingProtocol):
    """What `_pdf` uses of a ``weasyprint.HTML`` document."""

    def write_pdf(self) -> bytes: ...


class _HtmlFactory(TypingProtocol):
    """``weasyprint.HTML`` as `_pdf` calls it (from a string of HTML)."""

    def __call__(self, *, string: str) -> _PdfSource: ...


def _weasyprint() -> _HtmlFactory:
    """Return weasyprint's HTML class, or say how to install it."""
    try:
        from weasyprint import HTML
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EfficacyError(
            "PDF output needs weasyprint: pip install weasyprint (or choose --format html,json)"
        ) from exc
    factory: _HtmlFactory = HTML  # weasyprint ships no type information
    return factory


def _pdf(html: str) -> bytes:
    """Render `html` to PDF bytes (A4, per the stylesheet's @page rule).

    The bytes of ``weasyprint.HTML(string=html).write_pdf()``, rendered faster by
    :func:`efficacy.report._weasy.render_pdf` (no garbage collection during the render,
    no footnote styles for a document without footnotes).
    """
    from efficacy.report._weasy import render_pdf

    _weasyprint()  # weasyprint missing: say how to install it
    return render_pdf(html)


@cache
def _css() -> str:
    return (
        resources.files("efficacy.report")
        .joinpath("templates/report.css")
        .read_text(encoding="utf-8")
    )


@cache
def _template() -> Template:
    from jinja2 import Environment, StrictUndefined

    env = Environment(
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.do"],
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["num"] = _num
    env.filters["fixed"] = fixed
    env.filters["pval"] = pval
    env.filters["unit"] = unit_text
    env.filters["lead_text"] = lead_text
    text = (
        resources.files("efficacy.report")
        .joinpath("templates/report.html.j2")
        .read_text(encoding="utf-8")
    )
    return env.from_string(text)


#: Report section of each kind of result a checklist entry can be shown in
#: (:data:`efficacy.consort.REPORT_PARTS`).
CHECKLIST_SECTIONS: Mapping[str, int] = MappingProxyType(
    {"flow": 3, "baseline": 5, "estimates": 6, "sensitivity": 6, "harms": 8}
)


def _checklist(checklist: Checklist, produced: set[int]) -> dict[str, Any]:
    """Section 4: the checklist with its evidence placed in this report's sections.

    An entry shown in a kind of result (``shown_in``) cites the report section holding
    it (``report section 6: ...``), only when that section was produced.
    """
    data = checklist.to_dict()
    for entry in data["entries"]:
        part = entry.pop("shown_in")
        section = CHECKLIST_SECTIONS.get(part) if part else None
        if section is not None and section in produced:
            entry["where"] = f"report section {section}: {entry['where']}"
    return data


def _reference_based(analysis: AnalysisResult | None) -> dict[str, Any]:
    """``{"reference_based": section}`` when the plan declared any, else nothing."""
    section = reference_based_section(analysis)
    return {"reference_based": section} if section["status"] == "run" or section["skipped"] else {}


def _scored(
    trial: Trial, protocol: Protocol, analysis: AnalysisResult | None
) -> ScoredTrial | None:
    """Return the analysis's scored trial, else score the trial here, once (protocol options).

    None when the trial cannot be scored (e.g. no baseline visit): validation reports why.
    """
    if analysis is not None and analysis.scored is not None:
        return analysis.scored
    import warnings

    from efficacy.instruments import score_trial

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return score_trial(trial, protocol=protocol)
    except EfficacyError:
        return None


def build_report(
    trial: Trial,
    protocol: Protocol | str | None = None,
    validation: ValidationReport | None = None,
    flow: Flow | None = None,
    checklist: Checklist | None = None,
    analysis: AnalysisResult | None = None,
) -> Report:
    """Build the conformance report of `trial` (sections 1-9).

    Parameters
    ----------
    trial : Trial
        Not modified.
    protocol : Protocol, str or None
        Protocol or built-in id / TOML path; None: the default ``iso-efficacy-2025``.
    validation : ValidationReport, optional
        From :func:`efficacy.validate`; computed when not given.
    flow, checklist : optional
        From :func:`efficacy.consort.consort_flow` and
        :func:`~efficacy.consort.evaluate_checklist`; computed when not given.
    analysis : AnalysisResult, optional
        The analysis plan's result, from :func:`efficacy.analyze` (or
        :func:`efficacy.report.outcomes.run_analysis`, as ``efficacy report`` does):
        sections 6-7, see :mod:`efficacy.report.outcomes`; its scored trial gives the
        baseline values of section 5 (the values the analysis used). Without it
        sections 6-7 say the efficacy analysis was not run and the report scores the
        trial itself, once, with the protocol's ``[scoring]`` options. Not modified.

    Returns
    -------
    Report

    Raises
    ------
    EfficacyError
        `trial` is not a Trial, `analysis` not an AnalysisResult, or the validation
        report is of another trial/protocol.
    """
    if not isinstance(trial, Trial):
        raise EfficacyError(
            f"trial must be an efficacy Trial, not {type(trial).__name__}; read one with "
            "efficacy.read_trial(path)"
        )
    from efficacy.protocol import DEFAULT_PROTOCOL

    proto = load_protocol(protocol if protocol is not None else DEFAULT_PROTOCOL)
    if validation is None:
        from efficacy.validation import validate

        validation = validate(trial, proto)
    else:
        validation.check_of(trial.manifest.id, proto.id)
    if analysis is not None and not isinstance(analysis, AnalysisResult):
        raise EfficacyError(
            "analysis must be an AnalysisResult from efficacy.analyze(trial, protocol), "
            f"not {type(analysis).__name__}"
        )
    flow = flow if flow is not None else consort_flow(trial, proto)
    checklist = (
        checklist
        if checklist is not None
        else evaluate_checklist(trial, proto, flow, analysis=analysis)
    )
    outcomes = outcome_sections(analysis, trial, proto)
    produced = {3, 5, 8} | ({6} if outcomes["efficacy"]["status"] == "run" else set())
    level = proto.analysis.confidence_level if proto.analysis is not None else 0.95
    data = {
        "schema": SCHEMA,
        "title_block": title_block(trial, proto, generated_at()),
        "verdict": verdict(trial, proto, validation, checklist.to_dict()),
        "flow": flow.to_dict(),
        "populations": population_section(trial),
        "deviations": deviation_section(trial),
        "checklist": _checklist(checklist, produced),
        "baseline": baseline_tables(trial, proto, _scored(trial, proto, analysis)),
        "estimands": estimands_section(trial, proto, analysis),
        **outcomes,
        "subgroups": subgroup_section(analysis, level),
        **_reference_based(analysis),
        "harms": harms_tables(trial),
        "claims": claims_section(trial, analysis),
        "appendices": appendices(validation),
    }
    data["synopsis"] = synopsis(data, analysis, f"{100 * level:g}")
    # round-trip once: the model holds exactly what the JSON holds
    return Report(MappingProxyType(json.loads(json.dumps(data, allow_nan=False))))
