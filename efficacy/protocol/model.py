"""The standard as data: frozen :class:`Protocol` and :class:`Requirement` specs.

Both validate themselves in ``__post_init__`` and report *every* problem at once in a
single :class:`~efficacy.errors.ProtocolError` (its ``problems`` list them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from efficacy import _summaries
from efficacy.errors import ProtocolError
from efficacy.protocol.analysis_params import AnalysisPlan, check_analysis
from efficacy.protocol.params import (
    CHECKS,
    CONFIDENCES,
    SEVERITIES,
    VALIDATION_PARAMETERS,
    check_scoring,
    normalise_parameters,
)
from efficacy.schema import CLAIM_CATEGORIES

__all__ = ["Protocol", "Requirement"]

_REQ_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
_PROTOCOL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

#: The check family of each requirement id of the proposed standard, used when a
#: requirement does not name its ``check``.
DEFAULT_CHECKS: Mapping[str, str] = {
    "ISO-DUR": "duration",
    "ISO-ELAST": "instrumental",
    "ISO-HYD": "instrumental",
    "ISO-WRINKLE": "instrumental",
    "ISO-FACEQ": "pro",
    "ISO-SKINDEX": "pro",
    "ISO-RCT": "controlled",
}


def _text_problems(obj: Any, names: Sequence[str]) -> list[str]:
    return [
        f"{name} must be a non-empty string"
        for name in names
        if not isinstance(getattr(obj, name), str) or not getattr(obj, name).strip()
    ]


@dataclass(frozen=True)
class Requirement:
    """One requirement of a protocol, evaluated by validation as a rule of the same id.

    Parameters
    ----------
    id : str
        Stable upper-case id, e.g. ``"ISO-DUR"`` (public: findings cite it).
    title : str
        Short title.
    text : str
        What the requirement asks, paraphrased (never text copied from a standard).
    check : str
        The family of code that evaluates it: one of
        :data:`efficacy.protocol.params.CHECKS` (``duration``, ``instrumental``, ``pro``,
        ``controlled``). May be left empty for the standard's own ids (ISO-DUR, ...).
    parameters : Mapping[str, Any]
        Parameters of the check; unknown keys are errors, omitted ones take the check's
        defaults (the stored mapping is complete and read-only).
    severity : {"error", "warning", "notice"}
        Severity of the findings the requirement produces.
    source : str
        Where the requirement comes from (citation).
    confidence : {"", "stated", "reported", "practice"}
        How firmly the source backs the requirement (:data:`CONFIDENCES`): ``stated``
        the cited rule says so; ``reported`` secondary sources report it (text not
        checked clause by clause); ``practice`` industry or laboratory practice, not a
        regulatory minimum. Empty: not declared (the built-in packs declare it).
    claims : tuple of str
        Claim categories (:data:`efficacy.schema.CLAIM_CATEGORIES`) the requirement bears
        on in the claims matrix; empty: every claim.

    Raises
    ------
    ProtocolError
        Listing every problem found (bad id, empty text, unknown check or parameter...).
    """

    id: str
    title: str
    text: str
    check: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    severity: str = "error"
    source: str = ""
    confidence: str = ""
    claims: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = _text_problems(self, ("title", "text", "source"))
        if self.confidence not in ("", *CONFIDENCES):
            problems.append(
                f"confidence {self.confidence!r} is not one of {', '.join(CONFIDENCES)}"
            )
        claims = self.claims
        if not isinstance(claims, list | tuple) or not all(isinstance(c, str) for c in claims):
            problems.append("claims must be a list of claim categories")
            claims = ()
        bad = [c for c in claims if c not in CLAIM_CATEGORIES]
        if bad:
            problems.append(
                f"claims has unknown categories {bad}; known: {', '.join(CLAIM_CATEGORIES)}"
            )
        if not isinstance(self.id, str) or not _REQ_ID.match(self.id):
            problems.insert(0, f"id {self.id!r} must be upper-case words joined by '-'")
        if self.severity not in SEVERITIES:
            problems.append(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        check = self.check or DEFAULT_CHECKS.get(self.id, "")
        params: dict[str, Any] = {}
        if check not in CHECKS:
            problems.append(
                f"check {check!r} is not one of {', '.join(CHECKS)}"
                if check
                else f"check is required for a new requirement ({', '.join(CHECKS)})"
            )
        elif not isinstance(self.parameters, Mapping):
            problems.append("parameters must be a table of key = value")
        else:
            kind = CHECKS[check]
            params, errs = normalise_parameters("parameter", kind.parameters, self.parameters)
            problems.extend(errs)
            if not errs and kind.cross_check is not None:
                problems.extend(kind.cross_check(params))
        if problems:
            raise ProtocolError(f"requirement {self.id!r}", problems)
        object.__setattr__(self, "check", check)
        object.__setattr__(self, "parameters", MappingProxyType(params))
        object.__setattr__(self, "claims", tuple(claims))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable) of the requirement."""
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "check": self.check,
            "severity": self.severity,
            "source": self.source,
            "confidence": self.confidence,
            "claims": list(self.claims),
            "parameters": {k: _plain(v) for k, v in self.parameters.items()},
        }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Protocol:
    """A versioned standard: metadata, requirements and validation parameters.

    Parameters
    ----------
    id : str
        Identifier, e.g. ``"iso-efficacy-2025"``.
    version : str
        Version of this protocol file (reports cite id and version).
    title : str
        Human-readable title.
    source : str
        Citation of the standard the file encodes.
    requirements : tuple of Requirement
        Requirement ids are unique.
    parameters : Mapping[str, Any]
        The ``[validation]`` section: parameters of the data rules (see
        :data:`efficacy.protocol.params.VALIDATION_PARAMETERS`); omitted keys take their
        defaults, unknown keys are errors.
    description : str
        Optional longer description.
    scoring : Mapping[str, Any]
        The optional ``[scoring]`` section (``skindex16_overall``, ``cutometer_curves``,
        ``responders``) read by :meth:`efficacy.instruments.ScoringOptions.from_protocol`;
        omitted keys stay omitted.
    analysis : AnalysisPlan or None
        The optional ``[analysis]`` section: the prespecified statistical analysis plan
        read by :func:`efficacy.analysis.analyze` (see
        :mod:`efficacy.protocol.analysis_params`); None when the protocol has none.
        An ``[analysis]`` table (mapping) given here is checked and converted.
    extends : str or None
        ``"id@version"`` of the protocol this one was built on, if any.
    path : pathlib.Path or None
        File the protocol was read from.

    Raises
    ------
    ProtocolError
        Listing every problem found.
    """

    id: str
    version: str
    title: str
    source: str
    requirements: tuple[Requirement, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    scoring: Mapping[str, Any] = field(default_factory=dict)
    analysis: AnalysisPlan | None = None
    extends: str | None = None
    path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        problems = _text_problems(self, ("version", "title", "source"))
        if not isinstance(self.id, str) or not _PROTOCOL_ID.match(self.id):
            problems.insert(0, f"id {self.id!r} must be letters, digits, '.', '_' or '-'")
        reqs = tuple(self.requirements) if isinstance(self.requirements, Sequence) else None
        if reqs is None or not all(isinstance(r, Requirement) for r in reqs):
            problems.append("requirements must be a sequence of Requirement objects")
            reqs = ()
        ids = [r.id for r in reqs]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            problems.append(f"requirement ids {dupes} appear more than once")
        params: dict[str, Any] = {}
        if not isinstance(self.parameters, Mapping):
            problems.append("parameters ([validation]) must be a table of key = value")
        else:
            params, errs = normalise_parameters(
                "[validation]", VALIDATION_PARAMETERS, self.parameters
            )
            problems.extend(errs)
        scoring, errs = check_scoring(self.scoring)
        problems.extend(errs)
        analysis = self.analysis
        if isinstance(analysis, Mapping):  # a TOML table: check it with the rest
            section, errs = check_analysis(analysis)
            problems.extend(errs)
            analysis = AnalysisPlan.from_mapping(analysis) if section and not errs else None
        elif analysis is not None and not isinstance(analysis, AnalysisPlan):
            problems.append("analysis must be an AnalysisPlan, an [analysis] table or None")
        if problems:
            raise ProtocolError(f"protocol {self.id!r}", problems)
        object.__setattr__(self, "requirements", reqs)
        object.__setattr__(self, "parameters", MappingProxyType(params))
        object.__setattr__(self, "scoring", MappingProxyType(scoring))
        object.__setattr__(self, "analysis", analysis)

    summary = _summaries.protocol_summary
    _repr_html_ = _summaries.protocol_html
    __repr__ = _summaries.protocol_repr

    @property
    def requirement_ids(self) -> tuple[str, ...]:
        """Requirement ids in file order."""
        return tuple(r.id for r in self.requirements)

    def requirement(self, requirement_id: str) -> Requirement:
        """Return the requirement called `requirement_id`.

        Raises
        ------
        efficacy.errors.ProtocolError
            If there is none (the message lists the ids there are).
        """
        for r in self.requirements:
            if r.id == requirement_id:
                return r
        raise ProtocolError(
            f"requirement_id={requirement_id!r} is not in protocol {self.id!r}; "
            f"use one of {', '.join(self.requirement_ids)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable) of the protocol."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "source": self.source,
            "description": self.description,
            "extends": self.extends,
            "path": str(self.path) if self.path is not None else None,
            "parameters": {k: _plain(v) for k, v in self.parameters.items()},
            "scoring": {k: _plain(v) for k, v in self.scoring.items()},
            "analysis": self.analysis.to_dict() if self.analysis is not None else {},
            "requirements": [r.to_dict() for r in self.requirements],
        }
