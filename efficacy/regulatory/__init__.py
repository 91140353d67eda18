"""Regulatory decision support: which pathway a product falls under, market by market.

:func:`classify` reads a product's facts (:class:`Product`, from a ``[product]`` TOML
table via :func:`load_product`) and returns, for the US, EU, Japan, Korea and China, the
regulatory category, pathway, review clock, evidence tier and the criteria that decided
it, each with its source. Decision support with sources, not legal advice.
"""

from __future__ import annotations

from efficacy.regulatory.classify import (
    DISCLAIMER,
    JURISDICTIONS,
    Classification,
    ClassificationResult,
    Criterion,
    classify,
)
from efficacy.regulatory.product import Product, load_product, product_from_mapping

__all__ = [
    "DISCLAIMER",
    "JURISDICTIONS",
    "Classification",
    "ClassificationResult",
    "Criterion",
    "Product",
    "classify",
    "load_product",
    "product_from_mapping",
]
