"""Text and HTML rendering of an `MMRMResult` (rounding happens only here)."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from efficacy.mmrm.results import MMRMResult

__all__ = ["render_html", "render_text"]

_DF_LABEL = {
    "satterthwaite": "Satterthwaite",
    "kenward-roger": "Kenward-Roger",
    "kenward-roger-linear": "Kenward-Roger (linear)",
    "residual": "residual",
    "between-within": "between-within",
}

_VCOV_LABEL = {
    "model-based": "model-based",
    "empirical": "empirical (sandwich, CR0)",
    "empirical-jackknife": "empirical, jackknife (CR3)",
    "empirical-bias-reduced": "empirical, bias-reduced (CR2)",
}


def _num(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if isinstance(x, float):
        if x != 0 and (abs(x) < 1e-4 or abs(x) >= 1e7):
            return f"{x:.{digits - 1}e}"
        return f"{x:.{digits}f}"
    return str(x)


def _p(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "NA"
    return "<.0001" if x < 1e-4 else f"{x:.4f}"


def _header(res: MMRMResult) -> list[tuple[str, str]]:
    return [
        ("Formula", res.formula),
        (
            "Covariance",
            f"{res.covariance_structure} (REML)"
            if res.method == "reml"
            else f"{res.covariance_structure} (ML)",
        ),
        ("Degrees of freedom", _DF_LABEL.get(res.df_method, res.df_method)),
        ("Coefficient covariance", _VCOV_LABEL.get(res.vcov, res.vcov)),
        ("Observations", f"{res.n_obs} ({len(res._design.exclusions)} rows excluded)"),
        ("Subjects", str(res.n_subjects)),
        (
            "Converged",
            f"{'yes' if res.converged else 'NO'} ({res.optimizer}, {res.iterations} iterations)",
        ),
        ("-2 log-likelihood", _num(-2.0 * res.loglik)),
        ("AIC / BIC", f"{_num(res.aic, 1)} / {_num(res.bic, 1)}"),
    ]


def _coef_display(res: MMRMResult) -> pd.DataFrame:
    tab = res.to_frame()
    out = pd.DataFrame({"term": tab["term"]})
    for col in ("estimate", "std_error", "conf_low", "conf_high"):
        out[col] = [_num(v) for v in tab[col]]
    out["df"] = [_num(v, 1) for v in tab["df"]]
    out["statistic"] = [_num(v, 2) for v in tab["statistic"]]
    out["p_value"] = [_p(v) for v in tab["p_value"]]
    return out[
        ["term", "estimate", "std_error", "df", "statistic", "p_value", "conf_low", "conf_high"]
    ]


def _cov_display(res: MMRMResult) -> list[tuple[str, pd.DataFrame]]:
    cov = res.covariance
    items = cov.items() if isinstance(cov, dict) else [("", cov)]
    return [(str(k), v.map(lambda x: _num(float(x)))) for k, v in items]


def render_text(res: MMRMResult) -> str:
    """Plain-text summary (fixed-width)."""
    lines = ["Mixed model for repeated measures"]
    width = max(len(k) for k, _ in _header(res))
    lines += [f"  {k:<{width}}  {v}" for k, v in _header(res)]
    for label, frame in _cov_display(res):
        lines += [
            "",
            "Covariance matrix" + (f" (group {label})" if label else ""),
            frame.to_string(),
        ]
    lines += ["", "Fixed effects", _coef_display(res).to_string(index=False)]
    if res.warnings:
        lines += ["", "Notes"] + [f"  - {w}" for w in res.warnings]
    return "\n".join(lines)


def _table_html(frame: pd.DataFrame, index: bool) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    if index:
        head = f"<th>{html.escape(str(frame.index.name or ''))}</th>" + head
    body = []
    for idx, row in frame.iterrows():
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        if index:
            cells = f"<th>{html.escape(str(idx))}</th>" + cells
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(res: MMRMResult) -> str:
    """HTML summary for notebooks; every value is escaped."""
    parts = ["<div class='efficacy-mmrm'><h4>Mixed model for repeated measures</h4>", "<table>"]
    for k, v in _header(res):
        parts.append(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>")
    parts.append("</table>")
    for label, frame in _cov_display(res):
        title = "Covariance matrix" + (f" (group {label})" if label else "")
        parts.append(f"<h5>{html.escape(title)}</h5>{_table_html(frame, index=True)}")
    parts.append(f"<h5>Fixed effects</h5>{_table_html(_coef_display(res), index=False)}")
    if res.warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in res.warnings)
        parts.append(f"<h5>Notes</h5><ul>{items}</ul>")
    parts.append("</div>")
    return "".join(parts)
