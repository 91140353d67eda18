"""Blocks of report sections 6 (efficacy) and 7 (PROs), and the model appendix.

The strings are the report's values formatted as the HTML template formats them
(:func:`~efficacy.report._format.fixed` to an endpoint's ``decimals``,
:func:`~efficacy.report._format.pval`); the final visit (the estimand's time point)
is marked ``(final)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from efficacy.report._blocks import Block, Figure, Heading, Para, Table
from efficacy.report._endpoints import several_comparisons
from efficacy.report._format import fixed, pval
from efficacy.report.shells import ShellRow, TableShell, id_part

__all__ = ["efficacy", "models", "pros"]

_POP = {"itt": "ITT", "per_protocol": "Per protocol"}


def _ci(lo: Any, hi: Any, d: int) -> str:
    return f"{fixed(lo, d)}, {fixed(hi, d)}"


def _visit(row: Mapping[str, Any]) -> str:
    return f"{row['visit']} (final)" if row.get("final") else str(row["visit"])


def _g(x: Mapping[str, Any]) -> str:
    if x.get("hedges_g") is not None:
        return f"{fixed(x['hedges_g'], 2)} ({_ci(x['g_low'], x['g_high'], 2)})"
    return str(x.get("g_note") or "")


def _model_line(p: Mapping[str, Any]) -> Para:
    text = f"{p['model']}; covariance {', '.join(p['covariance'])}; "
    text += "converged" if p["converged"] else "NOT converged"
    text += "".join(f"; {n}" for n in p.get("notes", []))
    return Para(text + ".", lead=f"{p['label']}. ", note=True)


def _lsmeans(b: Mapping[str, Any], cl: str, sid: str) -> TableShell:
    d = b["decimals"]
    arms: list[str] = []
    for p in b["populations"]:
        arms += [a for a in p["arms"] if a not in arms]
    rows: list[ShellRow] = []
    for p in b["populations"]:
        rows.append(ShellRow((p["label"], *[""] * (3 * len(arms))), group=True))
        for r in p["lsmeans"]:
            cells: list[str] = []
            for a in arms:
                c = r["arms"].get(a)
                if c is None:
                    cells += ["-", "-", "-"]
                    continue
                cells += [
                    "-" if c["n"] is None else str(c["n"]),
                    f"{fixed(c['estimate'], d)} ({fixed(c['std_error'], d + 1)})",
                    _ci(c["conf_low"], c["conf_high"], d),
                ]
            rows.append(ShellRow((_visit(r), *cells), level=1))
    return TableShell(
        f"{sid}.lsmeans",
        f"{b['label']}: LS mean change from baseline by arm, by population",
        ("Visit", *[h for _ in arms for h in ("n", "LS mean (SE)", f"{cl}% CI")]),
        tuple(rows),
        footnotes=("n = participants with a value at that visit; (final): the estimand's visit.",),
        spans=(("", 1), *[(a, 3) for a in arms]),
    )


def _differences(b: Mapping[str, Any], cl: str, sid: str, split: bool) -> TableShell:
    d = b["decimals"]
    first = b["populations"][0]["differences"]
    multi = several_comparisons(first)
    adjusted = bool(b.get("adjusted"))
    header = ["Visit"] + (["Comparison"] if multi else [])
    header += ["n pairs" if split else "n (active, control)", "Difference (SE)", f"{cl}% CI", "p"]
    header += (["Adjusted p"] if adjusted else []) + [f"Hedges' g ({cl}% CI)"]
    rows: list[ShellRow] = []
    for p in b["populations"]:
        rows.append(ShellRow((p["label"], *[""] * (len(header) - 1)), group=True))
        for x in p["differences"]:
            cells = [_visit(x)] + ([x["comparison"]] if multi else [])
            cells += [
                str(x["n_active"]) if split else f"{x['n_active']}, {x['n_control']}",
                f"{fixed(x['estimate'], d)} ({fixed(x['std_error'], d + 1)})",
                _ci(x["conf_low"], x["conf_high"], d),
                pval(x["p_value"]),
            ]
            if adjusted:
                cells.append(pval(x["p_adjusted"]) if x.get("p_adjusted") is not None else "")
            cells.append(_g(x))
            rows.append(ShellRow(tuple(cells), level=1))
    comparison = "; ".join(dict.fromkeys(x["comparison"] for x in first))  # every one
    what = (
        "Within-person difference in change from baseline, treated minus control site"
        if split
        else "Treatment difference in LS mean change from baseline"
    )
    notes = [f"Adjusted p: {b['adjustment']}."] if adjusted else []
    align = ("l",) + (("l",) if multi else ()) + ("d",) * (len(header) - 1 - multi)
    return TableShell(
        f"{sid}.differences",
        f"{b['label']}: {what} ({comparison}), by population",
        tuple(header),
        tuple(rows),
        footnotes=tuple(notes),
        align=align,
    )


def _endpoint(num: str, b: Mapping[str, Any], cl: str, split: bool) -> list[Block]:
    direction = {
        "higher": "higher is better",
        "lower": "lower is better",
    }.get(b["direction"], "no agreed direction of improvement")
    note = f"{b['endpoint']}; unit {b['unit'] or 'none'}; {direction}"
    if b.get("adjusted"):
        note += f"; adjusted p: {b['adjustment']}"
    sid = f"{'pros' if num.startswith('7') else 'efficacy'}.{b['endpoint']}"
    out: list[Block] = [Heading(f"{num} {b['label']} ({b['role']})"), Para(note + ".", note=True)]
    out += [_model_line(p) for p in b["populations"]]
    if not split:
        out.append(Table(_lsmeans(b, cl, sid)))
    out.append(Table(_differences(b, cl, sid, split)))
    return out


def _summary(e: Mapping[str, Any], cl: str, split: bool) -> TableShell:
    rows: list[ShellRow] = []
    last = None
    # with several active arms each row names its comparison under the population
    several = several_comparisons(e["summary"])
    for x in e["summary"]:
        if x["endpoint"] != last:
            unit = x["unit"] or "no unit"
            rows.append(ShellRow((f"{x['label']} ({unit}), {x['role']}", *[""] * 6), group=True))
            last = x["endpoint"]
        d = x["decimals"]
        adj = pval(x["p_adjusted"]) if x.get("adjusted") and x.get("p_adjusted") is not None else ""
        rows.append(
            ShellRow(
                (
                    x["population_label"] + (f"\n{x['comparison']}" if several else ""),
                    str(x["visit"]),
                    fixed(x["estimate"], d),
                    _ci(x["conf_low"], x["conf_high"], d),
                    pval(x["p_value"]),
                    adj,
                    _g(x) if x.get("hedges_g") is not None else "",
                ),
                level=1,
            )
        )
    g = (
        "one-sample g of the within-person differences"
        if split
        else ("standardised difference of the observed changes")
    )
    return TableShell(
        "efficacy.summary",
        "Estimates of all endpoints: difference at the final visit",
        (
            "Endpoint (unit), role / population",
            "Visit",
            "Difference (within person)" if split else "Difference",
            f"{cl}% CI",
            "p",
            "Adjusted p",
            f"Hedges' g ({cl}% CI)",
        ),
        tuple(rows),
        footnotes=(
            "Adjusted p only for the key secondary endpoints (the multiplicity family; the "
            "primary endpoint is tested at the full level)."
            + (
                " Each comparison with control has its own family and is tested at the full "
                "level; the comparisons are not adjusted for one another."
                if several
                else ""
            ),
            f"Hedges' g: {g} (observed cases).",
        ),
        align=("l", "l", "d", "d", "d", "d", "d"),
    )


def _tipping(tp: Mapping[str, Any], cl: str, num: str, several: bool) -> list[Block]:
    d = tp["decimals"]
    # with several active arms the heading, the title and the table id name the comparison
    which = f", {tp['comparison']}" if several else ""
    out: list[Block] = [
        Heading(
            f"{num} Missing-data sensitivity: tipping point, {tp['label']}, "
            f"{tp['population_label']}{which}"
        )
    ]
    mar = tp.get("mar")
    mar_text = (
        f"{fixed(mar['estimate'], d)} ({cl}% CI {_ci(mar['conf_low'], mar['conf_high'], d)}), "
        f"p {pval(mar['p_value'])}"
        if mar
        else ""
    )
    if tp["tipping_delta"] is None:
        out.append(
            Para(
                f"No final-visit value was missing in the {tp['penalised_arm']} arm of the "
                f"{tp['population_label']} population, so shifting imputed values changes "
                "nothing: the result under missing at random (MAR) holds for every delta."
                + (f" Multiple imputation gives {mar_text}." if mar else "")
            )
        )
        out.append(Para("; ".join(tp["notes"]) + ".", note=True))
        return out
    if tp["tipping_delta"] == 0:
        out.append(
            Para(
                "Under MAR the difference is already not significant"
                + (f" ({mar_text})" if mar else "")
                + ": the tipping point is 0."
            )
        )
    else:
        text = (
            f"Under MAR (delta = 0), multiple imputation ({tp['imputations']} imputations, "
            f"seed {tp['seed']}) gives a difference of {mar_text}. Each imputed final-visit "
            f"value in the {tp['penalised_arm']} arm ({tp['n_missing_final']} participant(s) "
            "with a missing final value) is then shifted against improvement by delta, in the "
            f"endpoint's unit ({tp['unit']}; {tp['better']} is better). Tipping point: delta = "
            f"{fixed(tp['tipping_delta'], d + 1)} {tp['unit']}"
        )
        if tp.get("delta_over_effect") is not None:
            text += f", {fixed(tp['delta_over_effect'], 1)} times the MAR treatment difference"
        text += (
            f". The conclusion is overturned (the {cl}% CI reaches 0) only if the participants "
            "with missing final values had, on average, fared worse than MAR predicts by at "
            "least this much."
        )
        out.append(Para(text))
    rows = []
    for i in tp["shown"]:
        g = tp["grid"][i]
        rows.append(
            ShellRow(
                (
                    fixed(g["delta"], d + 1),
                    fixed(g["estimate"], d),
                    _ci(g["conf_low"], g["conf_high"], d),
                    pval(g["p_value"]),
                    "holds" if g["significant"] else "overturned",
                )
            )
        )
    out.append(
        Table(
            TableShell(
                f"efficacy.tipping.{tp['endpoint']}.{tp['population']}"
                + (f".{id_part(tp['comparison'])}" if several else ""),
                f"Tipping point, {tp['label']}, {tp['population_label']}{which}",
                (
                    f"Delta ({tp['unit']})" if tp["unit"] else "Delta",
                    "Difference",
                    f"{cl}% CI",
                    "p",
                    "Conclusion",
                ),
                tuple(rows),
                footnotes=(
                    f"{len(tp['shown'])} of the {len(tp['grid'])} grid rows (all in the "
                    f"JSON). {'; '.join(tp['notes'])}.",
                ),
                align=("d", "d", "d", "d", "l"),
            )
        )
    )
    return out


def _skipped(rows: Sequence[Mapping[str, Any]], sid: str, title: str) -> Table:
    merged: dict[tuple[str, str, str], list[str]] = {}
    for s in rows:
        pop = _POP.get(s["population"], s["population"])
        merged.setdefault((s["endpoint"], s["analysis"], s["reason"]), []).append(pop)
    return Table(
        TableShell(
            sid,
            title,
            ("Endpoint", "Populations", "Analysis", "Reason not run"),
            tuple(ShellRow((e, ", ".join(p), a, r)) for (e, a, r), p in merged.items()),
            align=("l",) * 4,
        )
    )


def _ancova(e: Mapping[str, Any], cl: str, num: str) -> list[Block]:
    """Return the section blocks of the declared final-visit ANCOVA rows, with estimands."""
    dec = {b["endpoint"]: b.get("decimals", 3) for b in e["endpoints"]}
    rows = tuple(
        ShellRow(
            (
                x["endpoint"],
                _POP.get(x["population"], x["population"]),
                str(x["visit"]),
                x["comparison"],
                fixed(x["estimate"], dec.get(x["endpoint"], 3)),
                _ci(x["conf_low"], x["conf_high"], dec.get(x["endpoint"], 3)),
                pval(x["p_value"]),
                x["estimand"] or "-",
                x["model"],
            )
        )
        for x in e["ancova"]
    )
    head = ("Endpoint", "Population", "Visit", "Comparison", "Estimate", f"{cl}% CI", "p")
    shell = TableShell(
        "efficacy.ancova",
        "Sensitivity analysis: ANCOVA at the final visit",
        (*head, "Estimand supported", "Model"),
        rows,
        align=("l", "l", "l", "l", "d", "d", "d", "l", "l"),
    )
    return [Heading(f"{num} Sensitivity analysis: ANCOVA at the final visit"), Table(shell)]


def efficacy(data: Mapping[str, Any]) -> list[Block]:
    """Section 6: estimands of all endpoints, figures, each endpoint, sensitivity, responders."""
    # 6.1 is the estimands part when the report has one (see _blocks.PARTS)
    at = 2 if "estimands" in data else 1
    if data["efficacy"]["status"] != "run":
        return [Heading(f"6.{at} Estimates of all endpoints"), Para(data["efficacy"]["message"])]
    e = data["efficacy"]["result"]
    a = e["analysis"]
    split = a["design"] == "split_face"
    cl = a["confidence_pct"]
    note = f"Analysis: {a['protocol']} plan, {a['status']}"
    if a.get("validation_errors"):
        note += f" ({a['validation_errors']} validation error(s))"
    note += ". " + "".join(f"{n}. " for n in a["notes"])
    if split:
        note += (
            "Split-face design: each participant is their own control; estimates are "
            "within-person differences, treated minus control site. "
        )
    note += (
        f"Estimand: {'within-person ' if split else ''}difference in LS mean change from "
        f"baseline at the final visit. Two-sided p; {cl}% confidence intervals (CI); n = "
        "participants with a value at that visit. Estimates are shown to the second "
        "significant digit of their standard error (SE); the JSON holds them unrounded."
    )
    out: list[Block] = [Heading(f"6.{at} Estimates of all endpoints"), Para(note, note=True)]
    out.append(Table(_summary(e, cl, split)))
    contrast = "treated minus control site" if split else "active minus control"
    if any(r.get("hedges_g") is not None for r in e["summary"]):
        out.append(
            Figure(
                "forest",
                f"Figure 6.1. Hedges' g with {cl}% CI at the final visit, every endpoint "
                f"({contrast}); the arrow gives the direction of improvement. [P] primary, "
                "[K] key secondary.",
            )
        )
    if e["endpoints"] and e["visits"]:
        what = (
            "LS mean within-person difference in change from baseline (treated minus control site)"
            if split
            else "LS mean change from baseline by arm"
        )
        out.append(Heading(f"6.{at + 1} Change from baseline over time"))
        out.append(
            Figure(
                "change_efficacy",
                f"Figure 6.2. {what} with {cl}% CI, ITT, by week since baseline.",
            )
        )
    for i, b in enumerate(e["endpoints"]):
        out += _endpoint(f"6.{i + at + 2}", b, cl, split)
    sec = len(e["endpoints"]) + at + 2
    several = several_comparisons(e["sensitivity"])
    for i, tp in enumerate(e["sensitivity"]):
        out += _tipping(tp, cl, f"6.{sec + i}", several)
    sec += len(e["sensitivity"])
    if e.get("ancova"):
        out += _ancova(e, cl, f"6.{sec}")
        sec += 1
    if e["responders"]:
        out.append(Heading(f"6.{sec} Responder analyses"))
        rows = [
            ShellRow(
                (
                    x["endpoint"],
                    _POP.get(x["population"], x["population"]),
                    str(x["visit"]),
                    x["comparison"],
                    fixed(x["estimate"], 3),
                    _ci(x["conf_low"], x["conf_high"], 3),
                    pval(x["p_value"]),
                    x["model"] + (f"; {x['notes']}" if x.get("notes") else ""),
                )
            )
            for x in e["responders"]
        ]
        out.append(
            Table(
                TableShell(
                    "efficacy.responders",
                    "Responder analyses",
                    (
                        "Endpoint",
                        "Population",
                        "Visit",
                        "Comparison",
                        "Estimate",
                        f"{cl}% CI",
                        "p",
                        "Model",
                    ),
                    tuple(rows),
                    align=("l", "l", "l", "l", "d", "d", "d", "l"),
                )
            )
        )
    if e["skipped"]:
        out.append(Heading("Planned analyses not run"))
        out.append(_skipped(e["skipped"], "efficacy.skipped", "Planned analyses not run"))
    return out


def pros(data: Mapping[str, Any]) -> list[Block]:
    """Section 7: FACE-Q and Skindex-16 notes, figure, each PRO endpoint."""
    if data["pros"]["status"] != "run":
        return [Para(data["pros"]["message"])]
    pr = data["pros"]["result"]
    a = data["efficacy"]["result"]["analysis"]
    split, cl = a["design"] == "split_face", a["confidence_pct"]
    out: list[Block] = []
    fq = pr.get("faceq")
    if fq:
        if fq["all_rasch"]:
            text = (
                "FACE-Q scale scores are Rasch-transformed 0-100 scores (higher = better), "
                f"converted from raw sums with the table {fq['conversion_table']}."
            )
        else:
            metrics = "; ".join(f"{s}: {'/'.join(m)}" for s, m in sorted(fq["metrics"].items()))
            text = (
                f"Not every FACE-Q scale was converted to the Rasch 0-100 metric: {metrics}. "
                "Raw sums are not the validated FACE-Q metric and are not comparable with "
                "published Rasch scores."
            )
        out.append(Para(text, lead="FACE-Q conversion. "))
        if fq.get("synthetic"):
            out.append(
                Para(
                    "The conversion table of this bundle is a synthetic stand-in (simulated "
                    "sample data), not the licensed MSKCC FACE-Q table: the FACE-Q numbers "
                    "below show the method, and are not valid FACE-Q scores. Supply your "
                    "licensed table for a submission."
                )
            )
    if pr.get("skindex16"):
        out.append(
            Para(
                "Domain scores 0-100 where higher = worse (more symptoms, emotional impact or "
                "functional limitation): a negative change from baseline, and a negative "
                "difference, is an improvement.",
                lead="Skindex-16. ",
            )
        )
    if pr["endpoints"] and data["efficacy"]["result"]["visits"]:
        out.append(
            Figure(
                "change_pros",
                f"Figure 7.1. LS mean change from baseline by arm with {cl}% CI, ITT, by week "
                "since baseline (scores 0-100; FACE-Q \u2191 better, Skindex-16 \u2193 better).",
            )
        )
    for i, b in enumerate(pr["endpoints"]):
        out += _endpoint(f"7.{i + 1}", b, cl, split)
    if pr["skipped"]:
        out.append(Heading("PRO analyses not run"))
        out.append(_skipped(pr["skipped"], "pros.skipped", "PRO analyses not run"))
    return out


_SPEC = {
    "formula": "Formula",
    "method": "Estimation",
    "df_method": "Degrees of freedom",
    "covariance_planned": "Covariance, declared order",
}


def models(data: Mapping[str, Any]) -> list[Block]:
    """Return the model appendix: common specification, then one row per fitted model."""
    er = data["efficacy"].get("result")
    if not er:
        return [Para(data["efficacy"]["message"])]
    ms = er["models"]
    spec = [
        ShellRow((_SPEC[k], str(ms["common"][k]).replace(" -> ", " \u2192 ")))
        for k in _SPEC
        if k in ms["common"]
    ]
    out: list[Block] = [
        Table(
            TableShell(
                "appendices.model_spec",
                "Model specification",
                ("Item", "Value"),
                tuple(spec),
                align=("l", "l"),
            )
        )
    ]
    if not ms["rows"]:
        return [*out, Para("No MMRM was fitted.")]
    varying = list(ms["varying"])
    rows = []
    for m in ms["rows"]:
        it = "-" if m["iterations"] is None else str(m["iterations"])
        rows.append(
            ShellRow(
                (
                    m["label"],
                    m["population_label"],
                    *[str(m[k]).replace(" -> ", " \u2192 ") for k in varying],
                    m["covariance"],
                    "yes" if m["converged"] else "no",
                    it + (f" ({m['optimizer']})" if m.get("optimizer") else ""),
                    f"{m['n_subjects']} / {m['n_obs']}",
                    fixed(m["neg2_loglik"], 2),
                    fixed(m["aic"], 2),
                    fixed(m["bic"], 2),
                )
            )
        )
    notes = [
        f"{m['label']}, {m['population_label']}: {m['notes']}" for m in ms["rows"] if m.get("notes")
    ]
    reml = ms["common"].get("method") == "REML"
    notes.append(
        f"{len(ms['rows'])} model(s), {ms['n_not_converged']} not converged. \u22122 log L: minus "
        f"twice the maximised {'restricted (REML) ' if reml else ''}log-likelihood, as SAS PROC "
        "MIXED prints it; AIC and BIC by SAS's definitions (smaller is better, comparable only "
        "between covariance structures for the same endpoint and population)."
    )
    header = (
        "Endpoint",
        "Population",
        *[_SPEC[k] for k in varying],
        "Covariance used",
        "Converged",
        "Iterations (optimiser)",
        "Subjects / obs.",
        "\u22122 log L",
        "AIC",
        "BIC",
    )
    align = ("l", "l", *["l"] * len(varying), "l", "l", "l", "r", "d", "d", "d")
    out.append(
        Table(
            TableShell(
                "appendices.models",
                "Models fitted",
                header,
                tuple(rows),
                footnotes=tuple(notes),
                align=align,
            )
        )
    )
    return out
