"""Supportive endpoints outside the standard's modalities: 2D complexion imaging.

VISIA-type systems are 2D multi-spectral cameras, not profilometers: their wrinkle
outputs (percentile, feature count, absolute score) are catalogue endpoints of modality
``"supportive_2d"`` (see :mod:`efficacy.instruments.catalogue`) and never count as 3D
wrinkle depth (FACTS.md 4.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from efficacy.instruments.catalogue import ENDPOINTS, Endpoint

__all__ = ["SUPPORTIVE_2D_DEVICES", "SUPPORTIVE_ENDPOINTS"]

#: Device names (case-insensitive substrings) of 2D complexion imaging systems.
SUPPORTIVE_2D_DEVICES: tuple[str, ...] = ("VISIA",)

#: Supportive endpoints by id (the catalogue entries of modality ``supportive_2d``).
SUPPORTIVE_ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType(
    {k: e for k, e in ENDPOINTS.items() if e.modality == "supportive_2d"}
)
