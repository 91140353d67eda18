"""Reference-based sensitivity analyses a protocol declares (reference_based tables).

Each table declares one reference-based multiple imputation (R rbmi's methods,
:func:`efficacy.reference_based`) that :func:`efficacy.analyze` runs beside the MMRM
under missing at random::

    [[analysis.sensitivity.reference_based]]
    endpoint = "cutometer_r2"      # default: the primary endpoint
    population = "itt"             # itt | per_protocol (one of the plan's populations)
    strategy = "JR"                # MAR | JR | CR | CIR | LMCF, for every intercurrent event
    strategies = { rescue_treatment = "CR" }   # per event (the `event` column), overrides
    references = {}                # arm -> reference arm (default: every arm -> control)
    method = "conditional-mean"    # conditional-mean | approximate-bayes
    resampling = "jackknife"       # jackknife | bootstrap (conditional-mean only)
    n_samples = 200                # bootstrap samples / imputations (not for the jackknife)
    seed = 20250101                # default: [analysis.sensitivity] seed

Strategies: ``JR`` jump to reference, ``CR`` copy reference, ``CIR`` copy increments in
reference, ``LMCF`` last mean carried forward, ``MAR`` missing at random (Carpenter,
Roger & Kenward 2013; rbmi's codes). The jackknife takes no ``n_samples``; the bootstrap
needs one; approximate Bayes defaults to 20 imputations (rbmi's default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from efficacy.protocol.params import ParamSpec, normalise_parameters

__all__ = [
    "RB_METHODS",
    "RB_RESAMPLING",
    "RB_STRATEGIES",
    "REFERENCE_BASED_PARAMETERS",
    "ReferenceBasedSpec",
    "check_reference_based",
]

#: Imputation strategies of a reference-based analysis (rbmi's codes).
RB_STRATEGIES: tuple[str, ...] = ("MAR", "JR", "CR", "CIR", "LMCF")
#: Methods and resampling schemes (as :func:`efficacy.reference_based` names them).
RB_METHODS: tuple[str, ...] = ("conditional-mean", "approximate-bayes")
RB_RESAMPLING: tuple[str, ...] = ("jackknife", "bootstrap")
_POPULATIONS = ("itt", "per_protocol")
_APPROX_BAYES_SAMPLES = 20  # rbmi's method_approxbayes() default

#: Scalar keys of each ``[[analysis.sensitivity.reference_based]]`` table (``strategies``
#: and ``references`` are tables of strings, ``n_samples`` and ``seed`` optional integers).
REFERENCE_BASED_PARAMETERS: Mapping[str, ParamSpec] = {
    "endpoint": ParamSpec("str", "primary", "Endpoint id (default: the primary endpoint)."),
    "population": ParamSpec("str", "itt", "Analysis population.", choices=_POPULATIONS),
    "strategy": ParamSpec(
        "str", "JR", "Strategy for every intercurrent event.", choices=RB_STRATEGIES
    ),
    "method": ParamSpec("str", "conditional-mean", "Imputation method.", choices=RB_METHODS),
    "resampling": ParamSpec(
        "str", "jackknife", "Resampling of conditional mean imputation.", choices=RB_RESAMPLING
    ),
}
_TABLE_KEYS = ("strategies", "references")
_INT_KEYS = ("n_samples", "seed")


@dataclass(frozen=True)
class ReferenceBasedSpec:
    """One ``[[analysis.sensitivity.reference_based]]`` table (checked, defaults filled in).

    Attributes
    ----------
    endpoint : str
        Endpoint id (the primary endpoint when the table omits it).
    population : {"itt", "per_protocol"}
    strategy : str
        Strategy (:data:`RB_STRATEGIES`) of every intercurrent event not in `strategies`.
    strategies : tuple of (event, strategy)
        Per-event strategies, sorted by event.
    references : tuple of (arm, reference arm)
        Declared references, sorted by arm; empty: every arm's reference is the control.
    method : {"conditional-mean", "approximate-bayes"}
    resampling : {"jackknife", "bootstrap"}
        ``"bootstrap"`` for approximate Bayes (its MMRM fits are to bootstrap samples).
    n_samples : int or None
        Bootstrap samples or imputations; None for the jackknife.
    seed : int
        Seed of the resamples and draws (unused by the jackknife).
    """

    endpoint: str
    population: str
    strategy: str
    strategies: tuple[tuple[str, str], ...]
    references: tuple[tuple[str, str], ...]
    method: str
    resampling: str
    n_samples: int | None
    seed: int

    def strategy_of(self, event: str) -> str:
        """Return the strategy of intercurrent event `event`."""
        return dict(self.strategies).get(event, self.strategy)

    @property
    def label(self) -> str:
        """Display text: strategies and method, e.g. ``JR; conditional mean, jackknife``."""
        how = dict(self.strategies)
        strat = self.strategy + "".join(f", {e}: {s}" for e, s in sorted(how.items()))
        if self.method == "approximate-bayes":
            method = f"approximate Bayes, {self.n_samples} imputations"
        elif self.resampling == "bootstrap":
            method = f"conditional mean, bootstrap ({self.n_samples} samples)"
        else:
            method = "conditional mean, jackknife"
        return f"{strat}; {method}"

    def to_dict(self) -> dict[str, Any]:
        """Return the TOML table (explicit: it checks back to an equal spec)."""
        out: dict[str, Any] = {
            "endpoint": self.endpoint,
            "population": self.population,
            "strategy": self.strategy,
            "strategies": dict(self.strategies),
            "references": dict(self.references),
            "method": self.method,
        }
        if self.method == "conditional-mean":
            out["resampling"] = self.resampling
        if self.n_samples is not None:
            out["n_samples"] = self.n_samples
        return out | {"seed": self.seed}

    @classmethod
    def from_checked(cls, table: Mapping[str, Any]) -> ReferenceBasedSpec:
        """Build from a table normalised by :func:`check_reference_based`."""
        n = table["n_samples"]
        return cls(
            endpoint=str(table["endpoint"]),
            population=str(table["population"]),
            strategy=str(table["strategy"]),
            strategies=tuple(sorted(table["strategies"].items())),
            references=tuple(sorted(table["references"].items())),
            method=str(table["method"]),
            resampling=str(table["resampling"]),
            n_samples=None if n is None else int(n),
            seed=int(table["seed"]),
        )


def _string_table(where: str, key: str, value: Any, choices: tuple[str, ...] | None) -> list[str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
    ):
        return [f'{where} {key!r} must be a table of strings, e.g. {{ ACTIVE = "VEHICLE" }}']
    bad = sorted(v for v in value.values() if choices and v not in choices)
    if bad:
        return [f"{where} {key!r} has strategies {bad}; allowed: {', '.join(choices or ())}"]
    return []


def _integers(where: str, table: Mapping[str, Any], values: dict[str, Any]) -> list[str]:
    problems = []
    for key, low in (("n_samples", 2), ("seed", 0)):
        v = table.get(key)
        ok = v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= low)
        if not ok:
            problems.append(f"{where} {key!r} must be an integer >= {low}")
        values[key] = v
    return problems


def _method_problems(where: str, table: Mapping[str, Any], values: dict[str, Any]) -> list[str]:
    """Resampling and n_samples that go with the method; fills their defaults."""
    n = values["n_samples"]
    if values["method"] == "approximate-bayes":
        if "resampling" in table:
            return [f"{where} 'resampling' applies to method 'conditional-mean' only; remove it"]
        values["resampling"] = "bootstrap"
        values["n_samples"] = _APPROX_BAYES_SAMPLES if n is None else n
        return []
    if values["resampling"] == "jackknife" and n is not None:
        return [f"{where} 'n_samples' is not used by the jackknife (one fit per subject)"]
    if values["resampling"] == "bootstrap" and n is None:
        return [f"{where} resampling 'bootstrap' needs 'n_samples' (e.g. 200)"]
    return []


def _check_one(
    where: str, table: Mapping[str, Any], plan: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    scalars = {k: v for k, v in table.items() if k not in (*_TABLE_KEYS, *_INT_KEYS)}
    values, problems = normalise_parameters(where, REFERENCE_BASED_PARAMETERS, scalars)
    for key, choices in (("strategies", RB_STRATEGIES), ("references", None)):
        value = table.get(key, {})
        errs = _string_table(where, key, value, choices)
        problems += errs
        values[key] = dict(value) if not errs else {}
    problems += _integers(where, table, values)
    if problems:
        return values, problems
    problems += _method_problems(where, table, values)
    if values["endpoint"] == "primary":
        values["endpoint"] = plan.get("primary")
    named = [plan.get("primary"), *plan.get("key_secondary", ()), *plan.get("secondary", ())]
    if values["endpoint"] not in named:
        problems.append(
            f"{where} endpoint = {values['endpoint']!r} is not an endpoint of the plan; use the "
            "primary, a key secondary or a secondary endpoint"
        )
    pops = plan.get("populations", _POPULATIONS)
    if values["population"] not in pops:
        problems.append(
            f"{where} population = {values['population']!r} is not one of the plan's "
            f"populations ({', '.join(pops)})"
        )
    if values["seed"] is None:
        values["seed"] = plan.get("sensitivity", {}).get("seed", 0)
    return values, problems


def check_reference_based(
    raw: Any, plan: Mapping[str, Any]
) -> tuple[tuple[dict[str, Any], ...], list[str]]:
    """Check ``[[analysis.sensitivity.reference_based]]``; return (tables, every problem).

    `plan` is the rest of the checked ``[analysis]`` section (endpoints, populations,
    the sensitivity seed). Two tables may not declare the same analysis.
    """
    if not isinstance(raw, list | tuple):
        return (), [
            "[analysis.sensitivity] 'reference_based' must be a list of tables "
            "([[analysis.sensitivity.reference_based]])"
        ]
    out: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, table in enumerate(raw, start=1):
        where = f"[analysis.sensitivity.reference_based] #{i}"
        if not isinstance(table, Mapping):
            problems.append(f"{where} must be a table")
            continue
        values, errs = _check_one(where, table, plan)
        problems += errs
        out.append(values)
    if not problems:
        specs = [ReferenceBasedSpec.from_checked(v) for v in out]
        for i, spec in enumerate(specs, start=1):
            if spec in specs[: i - 1]:
                problems.append(
                    f"[analysis.sensitivity.reference_based] #{i} repeats #{specs.index(spec) + 1}"
                    "; declare each analysis once"
                )
    return tuple(out), problems
