"""The planning report: inputs, power table, power-vs-n curve, seed and software versions.

:func:`plan_trial` runs the simulations (:func:`simulate_power` at the scenario's
sizes, then either :func:`sample_size` for a target power or a grid of sizes around
the scenario's) and returns a :class:`PlanningReport`; :meth:`PlanningReport.to_json`,
:meth:`~PlanningReport.to_svg` and :meth:`~PlanningReport.to_html` render it (the
``efficacy plan`` command writes the three files).
"""

from __future__ import annotations

import contextlib
import html
import importlib.metadata
import io
import json
import math
import platform
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from efficacy.plan.scenario import Scenario, load_scenario
from efficacy.plan.search import SampleSizeResult, analytic_start, sample_size
from efficacy.plan.simulate import PowerSimulation, simulate_power
from efficacy.protocol import Protocol, load_protocol

__all__ = ["CURVE_FACTORS", "PlanningReport", "plan_trial", "software_versions"]

#: Sizes simulated for the curve when no target power is given (x the scenario's n).
CURVE_FACTORS: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5)


def software_versions() -> dict[str, str]:
    """Versions of Python, efficacy and the numerical libraries the result depends on."""
    import scipy

    from efficacy import __version__

    out = {"python": platform.python_version(), "efficacy": __version__}
    out |= {"numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__}
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        out["distributed"] = importlib.metadata.version("distributed")
    return out


@dataclass(frozen=True)
class PlanningReport:
    """Everything the planning report shows (frozen).

    Attributes
    ----------
    scenario : Scenario
    protocol : str
    simulation : PowerSimulation
        At the scenario's sizes.
    curve : pandas.DataFrame
        ``n_per_arm``, ``power``, ``mc_se`` (simulated, of the criterion) and
        ``analytic_power`` (:func:`efficacy.power_mmrm`; NaN where no formula applies).
    criterion : str
        Whose power the curve shows, e.g. ``"cutometer_r2 (itt)"``.
    sample_size : SampleSizeResult or None
        With a target power.
    versions : dict of str to str
    """

    scenario: Scenario
    protocol: str
    simulation: PowerSimulation
    curve: pd.DataFrame
    criterion: str
    sample_size: SampleSizeResult | None
    versions: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document: inputs, power table, curve, sample size, seed, versions."""
        sim = self.simulation
        return {
            "inputs": {
                "scenario": self.scenario.to_dict(),
                "protocol": self.protocol,
                "n_trials": sim.n_trials,
                "seed": sim.seed,
            },
            "power": sim.to_dict(),
            "curve": {"criterion": self.criterion, "points": _nan_none(self.curve)},
            "sample_size": None if self.sample_size is None else self.sample_size.to_dict(),
            "seed": sim.seed,
            "versions": self.versions,
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_svg(self) -> str:
        """Render the power-vs-n figure (SVG): simulated power +/- 2 MC SE, formula, target."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.0, 3.6))
        ax = fig.add_subplot()
        c = self.curve
        ax.errorbar(c["n_per_arm"], c["power"], yerr=2 * c["mc_se"], fmt="o-", capsize=3,
                    label="simulated (+/- 2 MC SE)")  # fmt: skip
        if c["analytic_power"].notna().any():
            ax.plot(c["n_per_arm"], c["analytic_power"], "s--", label="power_mmrm (formula)")
        if self.sample_size is not None:
            ax.axhline(self.sample_size.target_power, color="grey", lw=0.8, label="target")
        ax.set_xlabel("participants per arm")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"Power of {self.criterion}", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        return buf.getvalue()

    def to_html(self) -> str:
        """Render a self-contained HTML page (values escaped; the figure inline)."""
        sim = self.simulation
        e = html.escape
        power = sim.to_frame()
        fw = sim.familywise
        parts = [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>Planning report: {e(self.scenario.title or self.scenario.source)}</title>",
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
            "text-align:right}th{background:#eee}</style></head><body>",
            f"<h1>Planning report: {e(self.scenario.title or self.scenario.source)}</h1>",
            "<h2>Inputs</h2><ul>",
            f"<li>scenario: {e(self.scenario.source)} ({e(self.scenario.design)}; "
            f"{e(', '.join(f'{a} {n}' for a, n in sim.n_per_arm.items()))} per arm; weeks "
            f"{e(', '.join(f'{w:g}' for w in self.scenario.weeks))}; dropout "
            f"{e(self.scenario.dropout.kind.upper())})</li>",
            f"<li>analysis plan: protocol {e(self.protocol)}</li>",
            f"<li>{sim.n_trials} simulated trials, seed {sim.seed}</li></ul>",
            "<h2>Power at the scenario's sizes</h2>",
            _table(power),
            "".join(f"<p>Note: {e(n)}</p>" for n in sim.notes),
            "<h2>Family-wise</h2>",
            _table(fw),
            f"<h2>Power vs participants per arm ({e(self.criterion)})</h2>",
            "<svg" + self.to_svg().split("<svg", 1)[-1],
            _table(self.curve),
        ]
        if self.sample_size is not None:
            s = self.sample_size
            verdict = "reached" if s.reached else "not reached up to the largest n tried"
            parts.append(
                f"<h2>Sample size</h2><p>Target power {s.target_power:g} for {e(s.criterion)}: "
                f"<b>{s.n_per_arm} per arm</b> (simulated power {s.power:.3f}, MC SE "
                f"{s.mc_se:.3f}; {verdict}); analytic start "
                f"{s.analytic_n_per_arm if s.analytic_n_per_arm is not None else 'none'}.</p>"
            )
        parts.append("<h2>Software</h2><ul>")
        parts += [f"<li>{e(k)} {e(v)}</li>" for k, v in self.versions.items()]
        parts.append("</ul></body></html>\n")
        return "\n".join(parts)


def _nan_none(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in r.items()
        }
        for r in frame.astype(object).to_dict("records")
    ]


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for r in frame.itertuples(index=False):
        cells = []
        for v in r:
            text = f"{v:.4g}" if isinstance(v, float) else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _analytic_power(sc: Scenario, endpoint: str, n: int, alpha: float) -> float:
    from efficacy.plan.analytic import power_mmrm

    e = sc.endpoint(endpoint)
    if e is None or analytic_start(sc, endpoint, 0.8, alpha) is None or sc.design != "parallel":
        return math.nan
    a = sc.actives[0]
    return power_mmrm(
        n_total=2 * n, delta=abs(sc.truth(endpoint, a)), sigma=e.sd[-1], correlation=e.correlation,
        retention=sc.dropout.retention[a], retention_control=sc.dropout.retention[sc.control],
        alpha=alpha,
    ).power  # fmt: skip


def plan_trial(
    scenario: Scenario | str,
    protocol: Protocol | str | None = None,
    *,
    n_trials: int,
    seed: int,
    n_jobs: int = 1,
    scheduler: Any = None,
    target_power: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> PlanningReport:
    """Simulate what the planning report shows (see the module notes).

    `progress` is called with (stage, done, total) in trials.
    """
    sc = load_scenario(scenario)
    prot = load_protocol(protocol if protocol is not None else "iso-efficacy-2025")
    kw: dict[str, Any] = {"n_trials": n_trials, "seed": seed, "n_jobs": n_jobs}
    kw["scheduler"] = scheduler

    def tick(stage: str) -> Callable[[int], None] | None:
        return None if progress is None else (lambda done: progress(stage, done, n_trials))

    sim = simulate_power(sc, prot, progress=tick("scenario"), **kw)
    primary = prot.analysis.primary if prot.analysis is not None else ""
    criterion = f"{primary} (itt)"
    size = None
    n0 = min(sc.n_per_arm.values())
    if target_power is not None:
        size = sample_size(sc, prot, target_power=target_power, **kw)
        points = size.curve.copy()
    else:
        rows = []
        for f in CURVE_FACTORS:
            n = max(2, round(n0 * f))
            s = (
                sim
                if n == n0
                else simulate_power(sc, prot, n_per_arm=n, progress=tick(f"n={n}"), **kw)
            )
            row = s.to_frame().query("endpoint == @primary and population == 'itt'")
            rows.append((n, float(row["power"].iloc[0]), float(row["mc_se"].iloc[0])))
        points = pd.DataFrame(rows, columns=["n_per_arm", "power", "mc_se"])
    alpha = sim.alpha
    points["analytic_power"] = [
        _analytic_power(sc, primary, int(n), alpha) for n in points["n_per_arm"]
    ]
    return PlanningReport(
        scenario=sc,
        protocol=sim.protocol,
        simulation=sim,
        curve=points.reset_index(drop=True),
        criterion=criterion,
        sample_size=size,
        versions=software_versions(),
    )
