"""Scoring and derivation parameters, read from a protocol where it has them.

:meth:`ScoringOptions.from_protocol` reads the missing-item fraction
(``[validation] pro_min_answered_fraction``), the 2D devices excluded from wrinkle depth
(ISO-WRINKLE ``exclude_devices``) and the protocol's optional ``[scoring]`` section
(``skindex16_overall``, ``cutometer_curves``, ``responders``); the other fields are
arguments (and CLI options) with documented defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from efficacy.errors import EfficacyError
from efficacy.instruments._pro_common import check_fraction
from efficacy.instruments.derive import ResponderRule
from efficacy.instruments.faceq_tables import FaceQScale
from efficacy.instruments.supportive import SUPPORTIVE_2D_DEVICES

__all__ = ["ScoringOptions"]


@dataclass(frozen=True)
class ScoringOptions:
    """Parameters of :func:`~efficacy.instruments.score_trial`.

    Parameters
    ----------
    min_answered_fraction : float, default 0.5
        Missing-item rule (protocol ``[validation] pro_min_answered_fraction``):
        Skindex-16 domains are scored when at least this share of their items is
        answered (project convention, FACTS.md 2); FACE-Q scales when fewer than
        ``1 - f`` of their items are missing (FACTS.md 3: exactly half missing is not
        scored). See :func:`~efficacy.instruments._pro_common.items_needed`.
    skindex16_overall : bool, default False
        Also score a Skindex-16 overall score (only when the protocol asks).
    cutometer_curves : tuple of int, optional
        Replicates (curves) averaged for Cutometer endpoints, e.g. ``(2, 3, 4)``;
        None averages every replicate.
    exclude_2d_devices : tuple of str, default ("VISIA",)
        2D imaging devices refused as wrinkle depth.
    responders : tuple of ResponderRule
        Protocol-declared responder rules (none by default: no invented MCIDs).
    faceq_scales : tuple of FaceQScale
        FACE-Q scales registered beyond the built-in ones.

    Raises
    ------
    EfficacyError
        Listing every problem.
    """

    min_answered_fraction: float = 0.5
    skindex16_overall: bool = False
    cutometer_curves: tuple[int, ...] | None = None
    exclude_2d_devices: tuple[str, ...] = SUPPORTIVE_2D_DEVICES
    responders: tuple[ResponderRule, ...] = ()
    faceq_scales: tuple[FaceQScale, ...] = field(default=())

    def __post_init__(self) -> None:
        problems = []
        try:
            check_fraction(self.min_answered_fraction)
        except EfficacyError as exc:
            problems.append(str(exc))
        if not isinstance(self.skindex16_overall, bool):
            problems.append("skindex16_overall must be true or false")
        curves = self.cutometer_curves
        if curves is not None:
            curves = tuple(curves)
            if not curves or not all(
                isinstance(c, int) and not isinstance(c, bool) for c in curves
            ):
                problems.append(f"cutometer_curves={self.cutometer_curves!r} must be whole numbers")
            object.__setattr__(self, "cutometer_curves", curves)
        for name, kind in (("responders", ResponderRule), ("faceq_scales", FaceQScale)):
            items = tuple(getattr(self, name))
            if not all(isinstance(x, kind) for x in items):
                problems.append(f"{name} must hold {kind.__name__} objects")
            object.__setattr__(self, name, items)
        devices = tuple(self.exclude_2d_devices)
        if not all(isinstance(d, str) and d.strip() for d in devices):
            problems.append("exclude_2d_devices must be non-empty strings")
        object.__setattr__(self, "exclude_2d_devices", devices)
        if problems:
            raise EfficacyError("ScoringOptions: " + "; ".join(problems))

    @classmethod
    def from_protocol(cls, protocol: Any, **overrides: Any) -> ScoringOptions:
        """Options from a :class:`~efficacy.protocol.Protocol`, then `overrides`.

        Reads ``[validation] pro_min_answered_fraction`` and the ``exclude_devices``
        of every ``instrumental`` requirement with ``modality = "wrinkle_depth"``
        (always joined with the built-in 2D devices), then the protocol's ``[scoring]``
        section: ``skindex16_overall``, ``cutometer_curves`` and ``responders`` (a list
        of ``{endpoint, kind, threshold, direction}`` tables).
        Keyword `overrides` name fields of this class and win over the protocol.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise EfficacyError(
                f"unknown ScoringOptions field(s) {unknown}; known: {sorted(known)}"
            )
        base: dict[str, Any] = {}
        params = getattr(protocol, "parameters", {}) or {}
        if "pro_min_answered_fraction" in params:
            base["min_answered_fraction"] = params["pro_min_answered_fraction"]
        devices = list(SUPPORTIVE_2D_DEVICES)
        for req in getattr(protocol, "requirements", ()):
            p = req.parameters
            if req.check == "instrumental" and p.get("modality") == "wrinkle_depth":
                devices += [d for d in p.get("exclude_devices", ()) if d not in devices]
        base["exclude_2d_devices"] = tuple(devices)
        base |= _scoring_section(getattr(protocol, "scoring", None) or {})
        return cls(**(base | overrides))

    def with_(self, **changes: Any) -> ScoringOptions:
        """Return a copy with `changes` applied (checked again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable)."""
        return {
            "min_answered_fraction": self.min_answered_fraction,
            "skindex16_overall": self.skindex16_overall,
            "cutometer_curves": list(self.cutometer_curves) if self.cutometer_curves else None,
            "exclude_2d_devices": list(self.exclude_2d_devices),
            "responders": [
                {
                    "endpoint": r.endpoint,
                    "kind": r.kind,
                    "threshold": r.threshold,
                    "direction": r.direction,
                }
                for r in self.responders
            ],
            "faceq_scales": [
                {
                    "id": s.id,
                    "name": s.name,
                    "n_items": s.n_items,
                    "direction": s.direction,
                    "response_range": list(s.response_range),
                }
                for s in self.faceq_scales
            ],
        }


_SCORING_KEYS = ("skindex16_overall", "cutometer_curves", "responders")


def _scoring_section(section: Any) -> dict[str, Any]:
    """Options from a ``[scoring]`` mapping; unknown keys and bad rules are errors."""
    unknown = sorted(set(section) - set(_SCORING_KEYS))
    if unknown:
        raise EfficacyError(
            f"[scoring] keys {unknown} are unknown; known: {', '.join(_SCORING_KEYS)}"
        )
    out: dict[str, Any] = {k: section[k] for k in _SCORING_KEYS[:2] if k in section}
    rules = []
    for i, rule in enumerate(section.get("responders", ()), start=1):
        extra = set(rule) - {"endpoint", "kind", "threshold", "direction"}
        if extra:
            raise EfficacyError(f"[scoring] responders #{i}: unknown keys {sorted(extra)}")
        rules.append(
            ResponderRule(
                rule.get("endpoint", ""),
                rule.get("kind", ""),
                rule.get("threshold"),
                rule.get("direction"),
            )
        )
    if rules:
        out["responders"] = tuple(rules)
    return out
