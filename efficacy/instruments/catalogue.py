"""Endpoint catalogue: unit, direction of improvement, limits and modality per endpoint.

Physical limits are values a working instrument cannot produce (outside them = an
*error* finding); plausible ranges are wide windows outside which a value is probably a
transcription or device problem (outside = a *warning*). Normative bands are the
published population ranges from ``shared/domain/FACTS.md`` section 4; they are kept for
reference and reports, never used to flag data. Where a plausible window is a project
heuristic rather than a published number, ``source`` says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CANONICAL_UNITS",
    "ENDPOINTS",
    "MODALITIES",
    "Endpoint",
    "get_endpoint",
    "normalise_unit",
    "unit_factor",
]

Direction = Literal["higher", "lower", "none"]
Modality = Literal["elasticity", "hydration", "wrinkle_depth", "barrier", "supportive_2d"]

#: Modalities the proposed standard asks for (barrier is optional, supportive).
MODALITIES: tuple[str, ...] = ("elasticity", "hydration", "wrinkle_depth", "barrier")

#: Canonical unit strings (the last three are for supportive 2D imaging scores).
CANONICAL_UNITS: tuple[str, ...] = (
    "mm",
    "um",
    "mm3",
    "ratio",
    "a.u.",
    "g/m2/h",
    "percentile",
    "score",
    "count",
)

# Spellings accepted for each canonical unit (compared after strip + lower-case).
_UNIT_ALIASES: Mapping[str, str] = {
    "mm": "mm",
    "um": "um",
    "µm": "um",  # micro sign U+00B5
    "μm": "um",  # Greek mu U+03BC
    "micron": "um",
    "microns": "um",
    "mm3": "mm3",
    "mm^3": "mm3",
    "mm³": "mm3",
    "ratio": "ratio",
    "a.u.": "a.u.",
    "au": "a.u.",
    "a.u": "a.u.",
    "g/m2/h": "g/m2/h",
    "g/m²/h": "g/m2/h",
    "g/(m2*h)": "g/m2/h",
    "g/(m2·h)": "g/m2/h",
    "g/h/m2": "g/m2/h",
    "percentile": "percentile",
    "score": "score",
    "count": "count",
    "g/h/m²": "g/m2/h",
    "g/(m²·h)": "g/m2/h",
    "g/(m²*h)": "g/m2/h",
    "g·m⁻²·h⁻¹": "g/m2/h",
}

# Multiplicative factors between convertible canonical units: value_in_to = value * f.
_FACTORS: Mapping[tuple[str, str], float] = {
    ("mm", "um"): 1000.0,
    ("um", "mm"): 0.001,
}


def normalise_unit(unit: str | None) -> str | None:
    """Return the canonical spelling of `unit`, or None if it is not a known unit.

    Examples
    --------
    >>> normalise_unit(" µm ")
    'um'
    >>> normalise_unit("furlong") is None
    True
    """
    if unit is None or (isinstance(unit, float) and math.isnan(unit)):
        return None
    return _UNIT_ALIASES.get(str(unit).strip().lower())


def unit_factor(from_unit: str, to_unit: str) -> float | None:
    """Factor converting canonical `from_unit` to `to_unit`, or None if not convertible."""
    if from_unit == to_unit:
        return 1.0
    return _FACTORS.get((from_unit, to_unit))


@dataclass(frozen=True)
class Endpoint:
    """One catalogue entry.

    Attributes
    ----------
    id : str
        Stable endpoint id used in ``measurements.endpoint``.
    label : str
        Human-readable name.
    instrument : str
        Instrument family (cutometer, corneometer, tewameter, profilometry).
    modality : {"elasticity", "hydration", "wrinkle_depth", "barrier", "supportive_2d"}
        The requirement of the standard this endpoint can satisfy; ``supportive_2d``
        (2D complexion imaging) satisfies none and never counts as wrinkle depth.
    unit : str
        Canonical unit; values in a convertible unit are converted to it.
    direction : {"higher", "lower", "none"}
        Direction of improvement ("none": no agreed direction).
    physical : tuple of float
        (low, high) physical limits; ``math.inf`` where unbounded.
    plausible : tuple of float
        (low, high) window outside which a value is flagged as implausible.
    normative : tuple of float or None
        Published facial population band, for reference only.
    derived_from : str or None
        Formula in curve amplitudes for Cutometer parameters, e.g. ``"Ua/Uf"``.
    source : str
        Where the numbers come from.
    """

    id: str
    label: str
    instrument: str
    modality: Modality
    unit: str
    direction: Direction
    physical: tuple[float, float]
    plausible: tuple[float, float]
    normative: tuple[float, float] | None = None
    derived_from: str | None = None
    source: str = ""


_CUTO = "FACTS.md 4.1 (Cutometer)"
_HEUR = "plausible window: project heuristic, wider than the normative band"
_INF = math.inf
_VISIA = "FACTS.md 4.4 (VISIA: 2D percentile, feature count, absolute score per feature)"

_ENTRIES: tuple[Endpoint, ...] = (
    # Cutometer curve amplitudes (mm): inputs to the R-parameters.
    Endpoint(
        "cutometer_uf",
        "Cutometer Uf (final deformation)",
        "cutometer",
        "elasticity",
        "mm",
        "none",
        (0.0, 8.0),
        (0.02, 3.0),
        None,
        None,
        f"{_CUTO}; Uf = Ue + Uv; {_HEUR}",
    ),
    Endpoint(
        "cutometer_ue",
        "Cutometer Ue (immediate extensibility)",
        "cutometer",
        "elasticity",
        "mm",
        "none",
        (0.0, 8.0),
        (0.01, 3.0),
        None,
        None,
        f"{_CUTO}; {_HEUR}",
    ),
    Endpoint(
        "cutometer_uv",
        "Cutometer Uv (delayed extensibility)",
        "cutometer",
        "elasticity",
        "mm",
        "none",
        (0.0, 8.0),
        (0.0, 3.0),
        None,
        None,
        f"{_CUTO}; {_HEUR}",
    ),
    Endpoint(
        "cutometer_ur",
        "Cutometer Ur (immediate retraction)",
        "cutometer",
        "elasticity",
        "mm",
        "none",
        (0.0, 8.0),
        (0.0, 3.0),
        None,
        None,
        f"{_CUTO}; {_HEUR}",
    ),
    Endpoint(
        "cutometer_ua",
        "Cutometer Ua (total retraction)",
        "cutometer",
        "elasticity",
        "mm",
        "none",
        (0.0, 8.0),
        (0.0, 3.0),
        None,
        None,
        f"{_CUTO}; {_HEUR}",
    ),
    # Cutometer R-parameters.
    Endpoint(
        "cutometer_r0",
        "Cutometer R0 (firmness, Uf)",
        "cutometer",
        "elasticity",
        "mm",
        "lower",
        (0.0, 8.0),
        (0.02, 3.0),
        (0.20, 0.33),
        "Uf",
        f"{_CUTO}; normative: jofa art. 46 (women 25-55, face); {_HEUR}",
    ),
    Endpoint(
        "cutometer_r2",
        "Cutometer R2 (gross elasticity, Ua/Uf)",
        "cutometer",
        "elasticity",
        "ratio",
        "higher",
        (0.0, 1.2),
        (0.3, 1.05),
        (0.66, 0.82),
        "Ua/Uf",
        f"{_CUTO}; physical [0, 1.2] per FACTS validator note; normative: jofa art. 54; {_HEUR}",
    ),
    Endpoint(
        "cutometer_r5",
        "Cutometer R5 (net elasticity, Ur/Ue)",
        "cutometer",
        "elasticity",
        "ratio",
        "higher",
        (0.0, 1.2),
        (0.3, 1.1),
        (0.60, 0.92),
        "Ur/Ue",
        f"{_CUTO}; normative: jofa art. 54; {_HEUR}",
    ),
    Endpoint(
        "cutometer_r6",
        "Cutometer R6 (viscoelastic share, Uv/Ue)",
        "cutometer",
        "elasticity",
        "ratio",
        "none",
        (0.0, _INF),
        (0.0, 2.0),
        None,
        "Uv/Ue",
        f"{_CUTO}; R6 can exceed 1 (FACTS); {_HEUR}",
    ),
    Endpoint(
        "cutometer_r7",
        "Cutometer R7 (biological elasticity, Ur/Uf)",
        "cutometer",
        "elasticity",
        "ratio",
        "higher",
        (0.0, 1.2),
        (0.15, 1.0),
        (0.37, 0.52),
        "Ur/Uf",
        f"{_CUTO}; normative: jofa art. 54; {_HEUR}",
    ),
    Endpoint(
        "cutometer_r8",
        "Cutometer R8 (viscoelastic recovery, Ua)",
        "cutometer",
        "elasticity",
        "mm",
        "higher",
        (0.0, 8.0),
        (0.01, 3.0),
        (0.10, 0.27),
        "Ua",
        f"{_CUTO}; normative: jofa art. 46; {_HEUR}",
    ),
    # Stratum corneum hydration.
    Endpoint(
        "corneometer",
        "Corneometer hydration",
        "corneometer",
        "hydration",
        "a.u.",
        "higher",
        (0.0, 130.0),
        (10.0, 110.0),
        None,
        None,
        "FACTS.md 4.2: reject < 0 or > 130, warn outside 10-110 (project heuristic)",
    ),
    # Barrier.
    Endpoint(
        "tewl",
        "Transepidermal water loss",
        "tewameter",
        "barrier",
        "g/m2/h",
        "lower",
        (0.0, 250.0),
        (2.0, 80.0),
        None,
        None,
        "FACTS.md 4.3 (forearm 9.69 +- 2.94, palms 49.3 +- 14.6); upper physical limit "
        f"and {_HEUR}",
    ),
    # 3D profilometry (fringe projection, photometric 3D, stereophotogrammetry).
    Endpoint(
        "wrinkle_ra",
        "Wrinkle roughness Ra",
        "profilometry",
        "wrinkle_depth",
        "um",
        "lower",
        (0.0, 5000.0),
        (1.0, 300.0),
        None,
        None,
        f"FACTS.md 4.4; {_HEUR}",
    ),
    Endpoint(
        "wrinkle_rz",
        "Wrinkle roughness Rz",
        "profilometry",
        "wrinkle_depth",
        "um",
        "lower",
        (0.0, 5000.0),
        (5.0, 1000.0),
        None,
        None,
        f"FACTS.md 4.4; {_HEUR}",
    ),
    Endpoint(
        "wrinkle_depth_max",
        "Maximum wrinkle depth",
        "profilometry",
        "wrinkle_depth",
        "um",
        "lower",
        (0.0, 5000.0),
        (10.0, 2500.0),
        (20.0, 200.0),
        None,
        f"FACTS.md 4.4 (skin lines 20-200 um; nasolabial grade 1 < 0.2 mm); {_HEUR}",
    ),
    Endpoint(
        "wrinkle_volume",
        "Wrinkle volume",
        "profilometry",
        "wrinkle_depth",
        "mm3",
        "lower",
        (0.0, 1000.0),
        (0.0, 100.0),
        None,
        None,
        f"FACTS.md 4.4; {_HEUR}",
    ),
    # Supportive 2D complexion imaging (VISIA-type): never counts as 3D wrinkle depth.
    Endpoint(
        "visia_wrinkles_percentile",
        "VISIA wrinkles percentile (2D, supportive)",
        "visia",
        "supportive_2d",
        "percentile",
        "higher",
        (0.0, 100.0),
        (0.0, 100.0),
        None,
        None,
        f"{_VISIA}; higher percentile = better",
    ),
    Endpoint(
        "visia_wrinkles_score",
        "VISIA wrinkles absolute score (2D, supportive)",
        "visia",
        "supportive_2d",
        "score",
        "none",
        (0.0, _INF),
        (0.0, _INF),
        None,
        None,
        f"{_VISIA}; direction not given in the sources reached",
    ),
    Endpoint(
        "visia_wrinkles_count",
        "VISIA wrinkles feature count (2D, supportive)",
        "visia",
        "supportive_2d",
        "count",
        "none",
        (0.0, _INF),
        (0.0, _INF),
        None,
        None,
        f"{_VISIA}; direction not given in the sources reached",
    ),
)

#: The catalogue, keyed by endpoint id.
ENDPOINTS: Mapping[str, Endpoint] = {e.id: e for e in _ENTRIES}


def get_endpoint(endpoint_id: str) -> Endpoint:
    """Return the catalogue entry for `endpoint_id`.

    Raises
    ------
    efficacy.errors.EfficacyError
        If the id is not in the catalogue (the message lists the known ids).

    Examples
    --------
    >>> r2 = get_endpoint("cutometer_r2")
    >>> r2.unit, r2.direction, r2.derived_from, r2.physical
    ('ratio', 'higher', 'Ua/Uf', (0.0, 1.2))
    """
    try:
        return ENDPOINTS[endpoint_id]
    except KeyError:
        from efficacy.errors import EfficacyError

        raise EfficacyError(
            f"endpoint={endpoint_id!r} is not in the catalogue; known: {', '.join(ENDPOINTS)}"
        ) from None
