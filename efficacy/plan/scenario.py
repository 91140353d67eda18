"""Planning scenarios: a trial design to simulate, read from TOML into frozen dataclasses.

A scenario says what the data of a future trial look like: design (parallel or
split-face), arms and their sizes, post-baseline visits (weeks), and per endpoint the
mean change from baseline over time per arm, its SD and correlation over visits, the
baseline distribution and, for PRO endpoints, an ordinal item response model; plus the
dropout over time (MCAR, or MAR on the last observed value). The protocol's
``[analysis]`` plan is then run on every simulated trial (:func:`simulate_power`).

Every problem is reported at once, one line each, naming the key path and the fix
(:class:`ScenarioError`). See ``sample_data/scenarios/elasticity_12wk.toml``.
"""

from __future__ import annotations

import itertools
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from efficacy.errors import ScenarioError
from efficacy.instruments.catalogue import ENDPOINTS

__all__ = [
    "Dropout",
    "EndpointModel",
    "ItemModel",
    "Scenario",
    "ScenarioError",
    "load_scenario",
]

_SKINDEX_DOMAINS = {"symptoms": (1, 2, 3, 4), "emotions": tuple(range(5, 12))}
_SKINDEX_DOMAINS["functioning"] = tuple(range(12, 17))


@dataclass(frozen=True)
class ItemModel:
    """Ordinal item response model of a PRO endpoint (graded, logistic).

    Each participant has a latent trait per visit (baseline plus the simulated change,
    in latent units); item ``k`` is answered ``r`` when ``r`` of its ordered
    `thresholds` lie below ``trait + e`` with ``e`` standard logistic noise. The items
    are then scored by the package's own scoring (:func:`efficacy.score_skindex16`).

    Attributes
    ----------
    instrument : str
        ``skindex16``.
    items : tuple of int
        Item numbers of the domain (Skindex-16: symptoms 1-4, emotions 5-11,
        functioning 12-16).
    thresholds : tuple of float
        Increasing latent thresholds; ``len + 1`` response categories ``0..len``.
    """

    instrument: str
    items: tuple[int, ...]
    thresholds: tuple[float, ...]


@dataclass(frozen=True)
class EndpointModel:
    """What one endpoint's simulated data look like.

    Attributes
    ----------
    endpoint : str
        Catalogue id (``cutometer_r2``) or PRO endpoint (``skindex16_symptoms``).
    mean_change : dict of str to tuple of float
        Mean change from baseline at each post-baseline visit, per arm (for PROs, in
        latent units).
    sd : tuple of float
        SD of the change at each visit.
    correlation : ndarray (m, m)
        Correlation of the changes over the visits.
    baseline_mean, baseline_sd : float
        Normal baseline distribution (PROs: latent trait at baseline).
    site_correlation : float
        Split-face: correlation of a person's two body sites (baseline and change).
    items : ItemModel or None
        The item response model of a PRO endpoint.
    """

    endpoint: str
    mean_change: Mapping[str, tuple[float, ...]]
    sd: tuple[float, ...]
    correlation: np.ndarray
    baseline_mean: float
    baseline_sd: float
    site_correlation: float
    items: ItemModel | None

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of the changes over visits: ``diag(sd) R diag(sd)``."""
        s = np.asarray(self.sd, dtype=float)
        return np.asarray(s[:, None] * self.correlation * s[None, :], dtype=float)


@dataclass(frozen=True)
class Dropout:
    """Monotone dropout over the post-baseline visits.

    Attributes
    ----------
    kind : {"mcar", "mar"}
    retention : dict of str to tuple of float
        Per arm, the share still observed at each visit (non-increasing, first > 0).
    mar_slope : float
        MAR only: log-odds of dropping out before a visit per SD of the last observed
        change of `endpoint` (negative: those who improve less leave more often).
        The intercepts give the declared retention when the slope is 0.
    endpoint : str
        The endpoint whose last observed value drives MAR dropout.
    """

    kind: str
    retention: Mapping[str, tuple[float, ...]]
    mar_slope: float
    endpoint: str


@dataclass(frozen=True)
class Scenario:
    """A design to simulate (see :func:`load_scenario` for the TOML form).

    Attributes
    ----------
    title : str
    design : {"parallel", "split_face"}
    arms : tuple of str
        Arm ids, control first.
    control : str
    n_per_arm : dict of str to int
        Parallel: participants per arm; split-face: every arm maps to the number of
        participants (each has one site per arm).
    sites : tuple of str
        Split-face: the body sites (``left_cheek``, ``right_cheek``).
    weeks : tuple of float
        Post-baseline visit weeks, increasing (baseline is week 0).
    endpoints : tuple of EndpointModel
    dropout : Dropout
    per_protocol : {"all", "completers"}
        Who is per protocol: every randomised participant (no deviations simulated),
        or those observed at the final visit.
    source : str
        The file (or ``"<mapping>"``) it was read from.
    """

    title: str
    design: str
    arms: tuple[str, ...]
    control: str
    n_per_arm: Mapping[str, int]
    sites: tuple[str, ...]
    weeks: tuple[float, ...]
    endpoints: tuple[EndpointModel, ...]
    dropout: Dropout
    per_protocol: str
    source: str

    @property
    def actives(self) -> tuple[str, ...]:
        """Active arm ids."""
        return tuple(a for a in self.arms if a != self.control)

    @property
    def n_participants(self) -> int:
        """Participants randomised (split-face: people, not sites)."""
        if self.design == "split_face":
            return int(self.n_per_arm[self.control])
        return int(sum(self.n_per_arm.values()))

    def endpoint(self, name: str) -> EndpointModel | None:
        """Return the model of endpoint `name`, or None when it is not simulated."""
        return next((e for e in self.endpoints if e.endpoint == name), None)

    def truth(self, endpoint: str, active: str, effect_scale: float = 1.0) -> float:
        """Return the true final-visit difference (active - control) in change from baseline."""
        e = self.endpoint(endpoint)
        if e is None or e.items is not None:
            return math.nan  # PRO truth is on the latent scale, not the score's
        return effect_scale * (e.mean_change[active][-1] - e.mean_change[self.control][-1])

    def with_n(self, n_per_arm: int | Mapping[str, int]) -> Scenario:
        """Return the scenario with other arm sizes (an int sets every arm)."""
        if isinstance(n_per_arm, Mapping):
            sizes = {a: int(n_per_arm.get(a, self.n_per_arm[a])) for a in self.arms}
        else:
            sizes = dict.fromkeys(self.arms, int(n_per_arm))
        bad = [a for a, n in sizes.items() if n < 2]
        if bad:
            raise ScenarioError(self.source, [f"n_per_arm: arms {bad} need at least 2"])
        return replace(self, n_per_arm=sizes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-serialisable) describing the scenario."""
        return {
            "title": self.title,
            "design": self.design,
            "arms": list(self.arms),
            "control": self.control,
            "n_per_arm": dict(self.n_per_arm),
            "sites": list(self.sites),
            "weeks": list(self.weeks),
            "per_protocol": self.per_protocol,
            "dropout": {
                "kind": self.dropout.kind,
                "retention": {a: list(r) for a, r in self.dropout.retention.items()},
                "mar_slope": self.dropout.mar_slope,
                "endpoint": self.dropout.endpoint,
            },
            "endpoints": [
                {
                    "endpoint": e.endpoint,
                    "mean_change": {a: list(v) for a, v in e.mean_change.items()},
                    "sd": list(e.sd),
                    "correlation": e.correlation.tolist(),
                    "baseline": {"mean": e.baseline_mean, "sd": e.baseline_sd},
                    "site_correlation": e.site_correlation,
                    "items": None
                    if e.items is None
                    else {
                        "instrument": e.items.instrument,
                        "items": list(e.items.items),
                        "thresholds": list(e.items.thresholds),
                    },
                }
                for e in self.endpoints
            ],
            "source": self.source,
        }


# --------------------------------------------------------------------------- parsing


class _Problems(list[str]):
    def number(
        self, value: Any, where: str, *, low: float = -math.inf, high: float = math.inf
    ) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not (low <= float(value) <= high) or not math.isfinite(float(value)):
            rng = (
                f" between {low:g} and {high:g}"
                if math.isfinite(low) or math.isfinite(high)
                else ""
            )
            self.append(f"{where} = {value!r}: give a number{rng}")
            return math.nan
        return float(value)

    def numbers(self, value: Any, where: str, m: int, **kw: float) -> tuple[float, ...]:
        if not isinstance(value, list) or len(value) != m:
            self.append(f"{where} = {value!r}: give a list of {m} numbers (one per visit)")
            return (math.nan,) * m
        return tuple(self.number(v, f"{where}[{i}]", **kw) for i, v in enumerate(value))

    def table(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.append(f"{where} must be a table ([{where}])")
            return {}
        return value

    def unknown(self, table: Mapping[str, Any], where: str, known: set[str]) -> None:
        extra = sorted(set(table) - known)
        if extra:
            self.append(f"{where}: unknown keys {extra}; use some of {sorted(known)}")


def _correlation(value: Any, where: str, m: int, p: _Problems) -> np.ndarray:
    """Read a correlation matrix: a matrix, or ``{structure = ar1|exchangeable|banded}``."""
    eye = np.eye(m)
    if isinstance(value, list):
        rows = [p.numbers(r, f"{where}[{i}]", m, low=-1, high=1) for i, r in enumerate(value)]
        if len(rows) != m:
            p.append(f"{where}: a {m} x {m} matrix is needed (one row per visit)")
            return eye
        mat = np.array(rows, dtype=float)
    elif isinstance(value, Mapping):
        p.unknown(value, where, {"structure", "rho", "by_lag"})
        kind = value.get("structure")
        lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
        if kind in ("ar1", "exchangeable"):
            rho = p.number(value.get("rho"), f"{where}.rho", low=-1, high=1)
            mat = rho**lag if kind == "ar1" else np.where(lag == 0, 1.0, rho)
        elif kind == "banded":
            by_lag = p.numbers(value.get("by_lag"), f"{where}.by_lag", m - 1, low=-1, high=1)
            mat = np.array([1.0, *by_lag])[lag]
        else:
            p.append(f"{where}.structure = {kind!r}: use 'ar1', 'exchangeable' or 'banded'")
            return eye
    else:
        p.append(f"{where}: give a matrix or a table {{structure = 'ar1', rho = 0.6}}")
        return eye
    if not np.all(np.isfinite(mat)):
        return eye
    if not np.allclose(mat, mat.T) or not np.allclose(np.diag(mat), 1.0):
        p.append(f"{where}: the matrix must be symmetric with ones on the diagonal")
        return eye
    if np.linalg.eigvalsh(mat).min() <= 1e-10:
        p.append(
            f"{where}: the correlation matrix is not positive definite; "
            "use weaker or consistent correlations"
        )
        return eye
    return np.asarray(mat, dtype=float)


def _mean_change(
    value: Any,
    where: str,
    arms: tuple[str, ...],
    control: str,
    weeks: tuple[float, ...],
    p: _Problems,
) -> dict[str, tuple[float, ...]]:
    """Per-arm mean change: explicit lists per arm, or control curve + final effect."""
    m = len(weeks)
    tab = p.table(value, where)
    if "effect" in tab or "control" in tab:
        p.unknown(tab, where, {"control", "effect", "shape"})
        ctl = p.numbers(tab.get("control", [0.0] * m), f"{where}.control", m)
        effect = tab.get("effect")
        effects = effect if isinstance(effect, Mapping) else dict.fromkeys(arms[1:], effect)
        shape = tab.get("shape", "linear")
        if shape not in ("linear", "constant"):
            p.append(
                f"{where}.shape = {shape!r}: use 'linear' (in weeks, 0 at baseline) or 'constant'"
            )
        frac = [w / weeks[-1] for w in weeks] if shape == "linear" else [1.0] * m
        out = {control: ctl}
        for a in arms:
            if a == control:
                continue
            d = p.number(effects.get(a), f"{where}.effect.{a}")
            out[a] = tuple(c + d * f for c, f in zip(ctl, frac, strict=True))
        return out
    p.unknown(tab, where, set(arms))
    return {a: p.numbers(tab.get(a), f"{where}.{a}", m) for a in arms}


def _items(value: Any, where: str, endpoint: str, p: _Problems) -> ItemModel | None:
    if not endpoint.startswith(("skindex16_", "faceq_")):
        if value is not None:
            p.append(f"{where}: only PRO endpoints (skindex16_<domain>) have an item model")
        return None
    domain = endpoint.removeprefix("skindex16_")
    if endpoint.startswith("faceq_") or domain not in _SKINDEX_DOMAINS:
        p.append(
            f"{where}: {endpoint} cannot be simulated (FACE-Q scoring needs the licensed "
            "conversion table); use skindex16_symptoms, skindex16_emotions or skindex16_functioning"
        )
        return None
    tab = p.table(value if value is not None else {}, where)
    p.unknown(tab, where, {"thresholds"})
    th = tab.get("thresholds")
    if not isinstance(th, list) or len(th) != 6:
        p.append(f"{where}.thresholds: give 6 increasing numbers (Skindex-16 answers 0-6)")
        return None
    ths = tuple(p.number(t, f"{where}.thresholds[{i}]") for i, t in enumerate(th))
    if any(b <= a for a, b in itertools.pairwise(ths)):
        p.append(f"{where}.thresholds must increase")
    return ItemModel("skindex16", _SKINDEX_DOMAINS[domain], ths)


_ENDPOINT_KEYS = {"mean_change", "sd", "correlation", "baseline", "site_correlation", "items"}


def _endpoint(
    name: str, tab: Mapping[str, Any], ctx: tuple[Any, ...], p: _Problems
) -> EndpointModel:
    arms, control, weeks, design = ctx
    where = f"endpoints.{name}"
    m = len(weeks)
    p.unknown(tab, where, _ENDPOINT_KEYS)
    if name not in ENDPOINTS and not name.startswith(("skindex16_", "faceq_")):
        p.append(f"[{where}]: {name!r} is not a catalogue endpoint id (e.g. cutometer_r2)")
    sd_raw = tab.get("sd")
    sd = (
        p.numbers(sd_raw, f"{where}.sd", m, low=1e-12)
        if isinstance(sd_raw, list)
        else (p.number(sd_raw, f"{where}.sd", low=1e-12),) * m
    )
    base = p.table(tab.get("baseline", {}), f"{where}.baseline")
    p.unknown(base, f"{where}.baseline", {"mean", "sd"})
    items = _items(tab.get("items"), f"{where}.items", name, p)
    if items is not None and design == "split_face":
        p.append(
            f"[{where}]: a PRO is answered per person; "
            "a split-face trial cannot compare sites on it"
        )
    return EndpointModel(
        endpoint=name,
        mean_change=_mean_change(
            tab.get("mean_change"), f"{where}.mean_change", arms, control, weeks, p
        ),
        sd=sd,
        correlation=_correlation(tab.get("correlation"), f"{where}.correlation", m, p),
        baseline_mean=p.number(base.get("mean", 0.0), f"{where}.baseline.mean"),
        baseline_sd=p.number(base.get("sd", 0.0), f"{where}.baseline.sd", low=0),
        site_correlation=p.number(
            tab.get("site_correlation", 0.5), f"{where}.site_correlation", low=-0.99, high=0.99
        ),
        items=items,
    )


def _dropout(
    tab: Mapping[str, Any], arms: tuple[str, ...], m: int, first: str, p: _Problems
) -> Dropout:
    p.unknown(tab, "dropout", {"kind", "retention", "mar_slope", "endpoint"})
    kind = tab.get("kind", "mcar")
    if kind not in ("mcar", "mar"):
        p.append(f"dropout.kind = {kind!r}: use 'mcar' or 'mar'")
    ret = tab.get("retention", [1.0] * m)
    per_arm = ret if isinstance(ret, Mapping) else dict.fromkeys(arms, ret)
    p.unknown(per_arm, "dropout.retention", set(arms))
    retention = {}
    for a in arms:
        r = p.numbers(per_arm.get(a), f"dropout.retention.{a}", m, low=0, high=1)
        if all(math.isfinite(x) for x in r) and (
            r[0] <= 0 or any(b > c for b, c in zip(r[1:], r, strict=False))
        ):
            p.append(
                f"dropout.retention.{a} = {list(r)}: must be non-increasing "
                "and above 0 at the first visit"
            )
        retention[a] = r
    slope = p.number(tab.get("mar_slope", 0.0), "dropout.mar_slope", low=-20, high=20)
    if kind == "mcar" and "mar_slope" in tab:
        p.append("dropout.mar_slope is for kind = 'mar'; remove it or set kind = 'mar'")
    return Dropout(str(kind), retention, slope, str(tab.get("endpoint", first)))


_TOP = {"scenario", "arms", "endpoints", "dropout"}
_SCEN = {"title", "design", "weeks", "n_participants", "sites", "per_protocol"}


def _arms(
    raw: Any, design: str, n_people: Any, p: _Problems
) -> tuple[tuple[str, ...], str, dict[str, int]]:
    if not isinstance(raw, list) or len(raw) < 2:
        p.append("[[arms]]: give at least two arms, one with control = true")
        return ("CONTROL", "ACTIVE"), "CONTROL", {"CONTROL": 2, "ACTIVE": 2}
    ids, sizes, controls = [], {}, []
    for i, arm in enumerate(raw):
        where = f"arms[{i}]"
        arm = p.table(arm, where)
        p.unknown(arm, where, {"id", "control", "n"})
        a = str(arm.get("id", f"ARM{i}"))
        ids.append(a)
        if arm.get("control", False) is True:
            controls.append(a)
        if design == "parallel":
            n = p.number(arm.get("n"), f"{where}.n (participants)", low=2)
            sizes[a] = int(n) if math.isfinite(n) else 2
        elif "n" in arm:
            p.append(f"{where}.n: a split-face trial sizes people with [scenario] n_participants")
    if len(controls) != 1 or len(set(ids)) != len(ids):
        p.append(
            f"[[arms]]: need distinct ids and exactly one control = true, "
            f"got {ids} with control {controls}"
        )
        controls = [ids[0]]
    if design == "split_face":
        if len(ids) != 2:
            p.append(
                "[[arms]]: a split-face scenario has two arms (the treated and the control site)"
            )
        n = p.number(n_people, "scenario.n_participants", low=2)
        sizes = dict.fromkeys(ids, int(n) if math.isfinite(n) else 2)
    arms = (controls[0], *[a for a in ids if a != controls[0]])
    sizes = {a: sizes.get(a, 2) for a in arms}
    return arms, controls[0], sizes


def scenario_from_mapping(doc: Mapping[str, Any], source: str = "<mapping>") -> Scenario:
    """Build a :class:`Scenario` from a parsed TOML document (see :func:`load_scenario`).

    Raises
    ------
    ScenarioError
        Listing every problem, each naming its key path and the fix.
    """
    p = _Problems()
    p.unknown(doc, "scenario file", _TOP)
    sc = p.table(doc.get("scenario", {}), "scenario")
    p.unknown(sc, "scenario", _SCEN)
    design = sc.get("design", "parallel")
    if design not in ("parallel", "split_face"):
        p.append(f"scenario.design = {design!r}: use 'parallel' or 'split_face'")
        design = "parallel"
    weeks_raw = sc.get("weeks")
    if not isinstance(weeks_raw, list) or not weeks_raw:
        p.append("scenario.weeks: give the post-baseline visit weeks, e.g. [2, 4, 8, 12]")
        weeks_raw = [12]
    weeks = tuple(p.number(w, f"scenario.weeks[{i}]", low=1e-9) for i, w in enumerate(weeks_raw))
    if any(b <= a for a, b in itertools.pairwise(weeks)):
        p.append(f"scenario.weeks = {list(weeks)}: weeks must increase")
    arms, control, sizes = _arms(doc.get("arms"), design, sc.get("n_participants"), p)
    if design == "parallel" and "n_participants" in sc:
        p.append("scenario.n_participants is for split_face; give [[arms]] n per arm")
    sites = tuple(sc.get("sites", ("left_cheek", "right_cheek")))
    if design == "split_face" and len(sites) != 2:
        p.append("scenario.sites: give the two body sites, e.g. ['left_cheek', 'right_cheek']")
    per_protocol = sc.get("per_protocol", "all")
    if per_protocol not in ("all", "completers"):
        p.append(f"scenario.per_protocol = {per_protocol!r}: use 'all' or 'completers'")
    eps = p.table(doc.get("endpoints", {}), "endpoints")
    if not eps:
        p.append("[endpoints.<id>]: give at least one endpoint, e.g. [endpoints.cutometer_r2]")
    ctx = (arms, control, weeks, design)
    models = tuple(_endpoint(str(k), p.table(v, f"endpoints.{k}"), ctx, p) for k, v in eps.items())
    first = models[0].endpoint if models else ""
    dropout = _dropout(p.table(doc.get("dropout", {}), "dropout"), arms, len(weeks), first, p)
    if models and dropout.endpoint not in {e.endpoint for e in models}:
        p.append(f"dropout.endpoint = {dropout.endpoint!r}: name a simulated endpoint")
    if p:
        raise ScenarioError(source, list(p))
    return Scenario(
        title=str(sc.get("title", "")),
        design=str(design),
        arms=arms,
        control=control,
        n_per_arm=sizes,
        sites=sites,
        weeks=weeks,
        endpoints=models,
        dropout=dropout,
        per_protocol=str(per_protocol),
        source=source,
    )


def load_scenario(path: str | os.PathLike[str] | Scenario) -> Scenario:
    """Read a scenario TOML file.

    Parameters
    ----------
    path : str or Path (or a Scenario, returned as is)

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        The file cannot be read or parsed, or describes something that cannot be
        simulated; every problem at once, each naming its key path and the fix.

    Examples
    --------
    >>> from efficacy._examples import repo_path
    >>> sc = load_scenario(repo_path("sample_data", "scenarios", "elasticity_12wk.toml"))
    >>> sc.design, sc.n_per_arm["ACTIVE"], sc.weeks
    ('parallel', 40, (2.0, 4.0, 8.0, 12.0))
    >>> round(sc.truth("cutometer_r2", "ACTIVE"), 4)
    0.02
    """
    if isinstance(path, Scenario):
        return path
    src = str(path)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ScenarioError(src, [f"cannot read the file ({exc.strerror})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(src, [f"not valid TOML ({exc})"]) from None
    return scenario_from_mapping(doc, src)
