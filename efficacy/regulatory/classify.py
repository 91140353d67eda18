"""Which regulatory category and pathway a stem-cell-derived aesthetic product falls under.

:func:`classify` turns a :class:`~efficacy.regulatory.product.Product` into one
:class:`Classification` per jurisdiction (US, EU, Japan, Korea, China), after the
comparison of Xiao, Liao, Zhang & Guan (2025, Table 1). Each names the category, the
pathway, the review clock the regulation itself states, the evidence tier, the criteria
that decided it (each with its citation) and how certain the call is:

* ``stated``: the cited regulation says so for facts like these;
* ``reported``: regulators' guidance or secondary sources say so; the text was not
  checked clause by clause;
* ``uncertain``: the regulation leaves it open (case-by-case classification, grey
  zones); a regulator's classification opinion is needed.

This is decision support with sources, not legal advice: requirements are paraphrased
and cited, never copied. The rules themselves are in :mod:`efficacy.regulatory._rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from efficacy.regulatory.product import Product

__all__ = [
    "DISCLAIMER",
    "JURISDICTIONS",
    "Classification",
    "ClassificationResult",
    "Criterion",
    "classify",
]

Certainty = Literal["stated", "reported", "uncertain"]

#: Jurisdiction codes, in report order.
JURISDICTIONS: tuple[str, ...] = ("US", "EU", "JP", "KR", "CN")

#: Said once on every output.
DISCLAIMER = (
    "Decision support, not legal advice: each call paraphrases and cites the rules it "
    "rests on; confirm the classification with the regulator (or qualified counsel) "
    "before relying on it."
)

_RANK: Mapping[str, int] = {"stated": 0, "reported": 1, "uncertain": 2}


@dataclass(frozen=True)
class Criterion:
    """One question the decision turned on.

    Attributes
    ----------
    question : str
        The criterion, paraphrased (e.g. "minimally manipulated").
    met : bool
        Whether the product meets it.
    source : str
        Citation of the rule that asks it.
    certainty : {"stated", "reported", "uncertain"}
    """

    question: str
    met: bool
    source: str
    certainty: Certainty = "stated"

    def to_dict(self) -> dict[str, Any]:
        """Return the criterion as a JSON-ready dict."""
        return {
            "question": self.question,
            "met": self.met,
            "source": self.source,
            "certainty": self.certainty,
        }


@dataclass(frozen=True)
class Classification:
    """The category and pathway of a product in one jurisdiction.

    Attributes
    ----------
    jurisdiction : str
        One of :data:`JURISDICTIONS`.
    category : str
        Regulatory category (e.g. "PHS Act section 351 biological product").
    pathway : str
        Route to market or to lawful use (e.g. "IND, then BLA").
    timeline : str
        The review clock the regulation states (not a forecast).
    evidence : str
        The evidence tier the pathway demands.
    criteria : tuple of Criterion
        The criteria that decided it, in the order they were asked.
    certainty : {"stated", "reported", "uncertain"}
        The least certain of the deciding criteria (and of the category itself).
    notes : tuple of str
        Caveats a reader must see (e.g. "RMAT needs a serious condition").
    """

    jurisdiction: str
    category: str
    pathway: str
    timeline: str
    evidence: str
    criteria: tuple[Criterion, ...]
    certainty: Certainty
    notes: tuple[str, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        """Every citation the decision rests on, once each, in order."""
        return tuple(dict.fromkeys(c.source for c in self.criteria))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON object of this jurisdiction."""
        return {
            "category": self.category,
            "pathway": self.pathway,
            "timeline": self.timeline,
            "evidence": self.evidence,
            "criteria": [c.to_dict() for c in self.criteria],
            "sources": list(self.sources),
            "certainty": self.certainty,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ClassificationResult:
    """A product's classification in every jurisdiction (see :func:`classify`).

    Attributes
    ----------
    product : Product
    by_jurisdiction : Mapping[str, Classification]
        Keyed by :data:`JURISDICTIONS`.
    """

    product: Product
    by_jurisdiction: Mapping[str, Classification]

    def __getitem__(self, jurisdiction: str) -> Classification:
        """Return the classification in `jurisdiction` (``"US"``, ``"EU"``, ...)."""
        return self.by_jurisdiction[jurisdiction]

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"product", "disclaimer", "US", "EU", "JP", "KR", "CN"}``."""
        out: dict[str, Any] = {"product": self.product.to_dict(), "disclaimer": DISCLAIMER}
        out.update({j: c.to_dict() for j, c in self.by_jurisdiction.items()})
        return out

    def to_text(self) -> str:
        """Return a plain-text summary: one block per jurisdiction, the disclaimer once."""
        lines = [f"{self.product.name}: regulatory classification", ""]
        for j, c in self.by_jurisdiction.items():
            lines += [
                f"{j}  {c.category}  [{c.certainty}]",
                f"    pathway:  {c.pathway}",
                f"    timeline: {c.timeline}",
                f"    evidence: {c.evidence}",
            ]
            for crit in c.criteria:
                mark = "yes" if crit.met else "no "
                lines.append(f"    {mark} {crit.question} ({crit.source})")
            lines += [f"    note: {n}" for n in c.notes]
            lines.append("")
        lines.append(DISCLAIMER)
        return "\n".join(lines) + "\n"


def least_certain(*levels: Certainty) -> Certainty:
    """Return the least certain of `levels`."""
    return max(levels, key=lambda c: _RANK[c])


def classify(product: Product) -> ClassificationResult:
    """Classify `product` in the US, EU, Japan, Korea and China.

    Parameters
    ----------
    product : Product
        The facts (see :func:`efficacy.regulatory.load_product`).

    Returns
    -------
    ClassificationResult

    Examples
    --------
    A topical exosome serum of human origin sold as a cosmetic:

    >>> from efficacy.regulatory import classify, product_from_mapping
    >>> serum = product_from_mapping({
    ...     "name": "exosome serum", "material": "exosomes", "source": "allogeneic",
    ...     "manipulation": "more_than_minimal", "homologous_use": False,
    ...     "route": "topical", "same_surgical_procedure": False,
    ...     "combined_with_other_articles": False, "systemic_effect": False,
    ...     "intended_use": "cosmetic"})
    >>> result = classify(serum)
    >>> result["EU"].category
    'prohibited cosmetic ingredient (product of human origin)'
    >>> result["US"].certainty
    'uncertain'
    """
    from efficacy.regulatory._rules import eu, us
    from efficacy.regulatory._rules_asia import cn, jp, kr

    decide = {"US": us, "EU": eu, "JP": jp, "KR": kr, "CN": cn}
    return ClassificationResult(product, {j: decide[j](product) for j in JURISDICTIONS})
