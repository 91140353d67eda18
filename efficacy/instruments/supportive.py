"""Supportive endpoints outside the standard's modalities: 2D complexion imaging.

VISIA-type systems are 2D multi-spectral cameras, not profilometers: their wrinkle
outputs (percentile, feature count, absolute score) are accepted as *supportive*
endpoints (modality ``"supportive_2d"``) and never count as 3D wrinkle depth
(FACTS.md 4.4). This registry sits beside the catalogue (which the lead owns) until the
catalogue gains a supportive modality.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["SUPPORTIVE_2D_DEVICES", "SUPPORTIVE_ENDPOINTS", "SupportiveEndpoint"]

#: Device names (case-insensitive substrings) of 2D complexion imaging systems.
SUPPORTIVE_2D_DEVICES: tuple[str, ...] = ("VISIA",)


@dataclass(frozen=True)
class SupportiveEndpoint:
    """A supportive endpoint: id, label, unit, direction of improvement and limits.

    Attributes
    ----------
    id, label, instrument : str
    modality : str
        Always ``"supportive_2d"`` here.
    unit : str
        Exact unit string expected in ``measurements.unit`` (compared lower-case).
    direction : {"higher", "lower", "none"}
        ``"none"`` where the sources give no direction: a responder rule for it must
        then state the direction itself.
    physical : tuple of float
        (low, high) limits.
    source : str
    """

    id: str
    label: str
    instrument: str
    modality: str
    unit: str
    direction: str
    physical: tuple[float, float]
    source: str


_VISIA = "FACTS.md 4.4 (VISIA: percentile, feature count, absolute score per feature)"

#: Supportive endpoints by id.
SUPPORTIVE_ENDPOINTS: Mapping[str, SupportiveEndpoint] = MappingProxyType(
    {
        e.id: e
        for e in (
            SupportiveEndpoint(
                "visia_wrinkles_percentile",
                "VISIA wrinkles percentile (2D, supportive)",
                "visia",
                "supportive_2d",
                "percentile",
                "higher",
                (0.0, 100.0),
                f"{_VISIA}; higher percentile = better (FACTS.md 4.4)",
            ),
            SupportiveEndpoint(
                "visia_wrinkles_score",
                "VISIA wrinkles absolute score (2D, supportive)",
                "visia",
                "supportive_2d",
                "score",
                "none",
                (0.0, math.inf),
                f"{_VISIA}; direction not given in the sources reached",
            ),
            SupportiveEndpoint(
                "visia_wrinkles_count",
                "VISIA wrinkles feature count (2D, supportive)",
                "visia",
                "supportive_2d",
                "count",
                "none",
                (0.0, math.inf),
                f"{_VISIA}; direction not given in the sources reached",
            ),
        )
    }
)
