"""Regulatory decision support: which pathway a product falls under, market by market.

:func:`classify` reads a product's facts (:class:`Product`, from a ``[product]`` TOML
table via :func:`load_product`) and returns, for the US, EU, Japan, Korea and China, the
regulatory category, pathway, review clock, evidence tier and the criteria that decided
it, each with its source. :func:`claims_matrix` reads a trial's declared claims against
the jurisdiction rule packs (``cn-nmpa-2021``, ``kr-mfds``, ``eu-655-2013``, ``us-fda``,
``iso-efficacy-2025``) and its analysis. Decision support with sources, not legal advice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from efficacy._lazy import lazy_exports
from efficacy.regulatory.classify import (
    DISCLAIMER,
    JURISDICTIONS,
    Classification,
    ClassificationResult,
    Criterion,
    classify,
)
from efficacy.regulatory.product import Product, load_product, product_from_mapping

_LAZY: dict[str, str] = {
    "ClaimCell": "efficacy.regulatory.claims",
    "ClaimsMatrix": "efficacy.regulatory.claims",
    "JURISDICTION_PACKS": "efficacy.regulatory.claims",
    "claims_matrix": "efficacy.regulatory.claims",
}

__all__ = [
    "DISCLAIMER",
    "JURISDICTIONS",
    "JURISDICTION_PACKS",
    "ClaimCell",
    "ClaimsMatrix",
    "Classification",
    "ClassificationResult",
    "Criterion",
    "Product",
    "claims_matrix",
    "classify",
    "load_product",
    "product_from_mapping",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from efficacy.regulatory.claims import (
        JURISDICTION_PACKS,
        ClaimCell,
        ClaimsMatrix,
        claims_matrix,
    )

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
