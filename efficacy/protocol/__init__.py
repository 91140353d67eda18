"""The standard as data: :class:`Protocol` specs and their TOML loader.

>>> from efficacy.protocol import load_protocol
>>> p = load_protocol("iso-efficacy-2025")
>>> p.requirement_ids
('ISO-DUR', 'ISO-ELAST', 'ISO-HYD', 'ISO-WRINKLE', 'ISO-FACEQ', 'ISO-SKINDEX', 'ISO-RCT')
"""

from __future__ import annotations

from efficacy.errors import InvalidProtocolError  # noqa: F401 - former name of ProtocolError
from efficacy.protocol.analysis_params import AnalysisPlan
from efficacy.protocol.estimands import Estimand, IntercurrentEventSpec
from efficacy.protocol.loader import DEFAULT_PROTOCOL, list_protocols, load_protocol
from efficacy.protocol.model import Protocol, Requirement
from efficacy.protocol.params import CHECKS, SEVERITIES, VALIDATION_PARAMETERS  # noqa: F401

#: What a user calls; CHECKS, SEVERITIES and VALIDATION_PARAMETERS stay importable.
__all__ = [
    "DEFAULT_PROTOCOL",
    "AnalysisPlan",
    "Estimand",
    "IntercurrentEventSpec",
    "Protocol",
    "Requirement",
    "list_protocols",
    "load_protocol",
]
