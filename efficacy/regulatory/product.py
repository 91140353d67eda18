"""The facts about a product that decide its regulatory pathway (``[product]`` in TOML).

A product file holds one ``[product]`` table; every key is required and every value is
checked against its vocabulary, so a typo is an error naming the key and the allowed
values, never a silent default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, cast

from efficacy.errors import InputError

__all__ = ["MATERIALS", "Product", "load_product", "product_from_mapping"]

Material = Literal[
    "svf", "live_cells", "expanded_cells", "conditioned_medium", "exosomes", "growth_factors"
]

#: ``material`` values and what each means.
MATERIALS: Mapping[str, str] = {
    "svf": "stromal vascular fraction (adipose-derived cell mixture)",
    "live_cells": "minimally processed living cells",
    "expanded_cells": "culture-expanded cells (e.g. adipose-derived stem cells)",
    "conditioned_medium": "conditioned medium / secretome (cell-free)",
    "exosomes": "exosomes / extracellular vesicles (cell-free)",
    "growth_factors": "growth factors (cell-free)",
}

_CHOICES: Mapping[str, tuple[str, ...]] = {
    "material": tuple(MATERIALS),
    "source": ("autologous", "allogeneic", "non_human"),
    "manipulation": ("minimal", "more_than_minimal"),
    "route": ("topical", "microneedling", "injection"),
    "intended_use": ("cosmetic", "medical"),
}
_FLAGS = (
    "homologous_use",
    "same_surgical_procedure",
    "combined_with_other_articles",
    "systemic_effect",
)
_KEYS = ("name", *_CHOICES, *_FLAGS)


@dataclass(frozen=True)
class Product:
    """A product's classification facts (the keys of ``[product]``).

    Attributes
    ----------
    name : str
    material : {"svf", "live_cells", "expanded_cells", "conditioned_medium", "exosomes",
        "growth_factors"}
    source : {"autologous", "allogeneic", "non_human"}
    manipulation : {"minimal", "more_than_minimal"}
    homologous_use : bool
        Performs the same basic function in the recipient as in the donor.
    route : {"topical", "microneedling", "injection"}
    same_surgical_procedure : bool
        Removed from and given back to the same person within one surgical procedure.
    combined_with_other_articles : bool
        Combined with another article (a drug, device or scaffold; water, crystalloids
        and sterilising, preserving or storage agents do not count).
    systemic_effect : bool
        Has a systemic effect (or depends on the metabolic activity of living cells for
        its primary function).
    intended_use : {"cosmetic", "medical"}
        ``cosmetic``: changing appearance; ``medical``: treating or preventing a
        condition, or affecting the structure or function of the body.
    """

    name: str
    material: Material
    source: Literal["autologous", "allogeneic", "non_human"]
    manipulation: Literal["minimal", "more_than_minimal"]
    homologous_use: bool
    route: Literal["topical", "microneedling", "injection"]
    same_surgical_procedure: bool
    combined_with_other_articles: bool
    systemic_effect: bool
    intended_use: Literal["cosmetic", "medical"]

    @property
    def has_cells(self) -> bool:
        """Whether the product contains cells (SVF, live or expanded cells)."""
        return self.material in ("svf", "live_cells", "expanded_cells")

    @property
    def human(self) -> bool:
        """Whether the material is of human origin."""
        return self.source != "non_human"

    @property
    def invasive(self) -> bool:
        """Whether it is injected or applied through microneedled (broken) skin."""
        return self.route != "topical"

    def to_dict(self) -> dict[str, Any]:
        """Return the facts as a plain dict (JSON-ready)."""
        return asdict(self)


def product_from_mapping(raw: Mapping[str, Any], where: str = "[product]") -> Product:
    """Check and convert a ``[product]`` table to a :class:`Product`.

    Raises
    ------
    InputError
        A missing or unknown key, a value outside its vocabulary, a flag that is not
        true/false, or contradictory facts (one line naming the key and the fix).
    """
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r}; the keys are " + ", ".join(_KEYS))
    missing = [k for k in _KEYS if k not in raw]
    if missing:
        raise InputError(
            f"{where}: missing key {missing[0]!r}; every key is required: " + ", ".join(_KEYS)
        )
    if not isinstance(raw["name"], str) or not raw["name"].strip():
        raise InputError(f"{where}: name must be a non-empty text")
    for key, choices in _CHOICES.items():
        if raw[key] not in choices:
            raise InputError(f"{where}: {key} = {raw[key]!r} is not one of " + ", ".join(choices))
    for key in _FLAGS:
        if not isinstance(raw[key], bool):
            raise InputError(f"{where}: {key} must be true or false; got {raw[key]!r}")
    if raw["material"] == "expanded_cells" and raw["manipulation"] == "minimal":
        raise InputError(
            f"{where}: culture expansion is more than minimal manipulation; set "
            'manipulation = "more_than_minimal" for expanded_cells'
        )
    if raw["same_surgical_procedure"] and raw["source"] != "autologous":
        raise InputError(
            f'{where}: same_surgical_procedure = true needs source = "autologous" '
            "(cells removed from and returned to the same person)"
        )
    return Product(**{k: (raw[k].strip() if k == "name" else raw[k]) for k in _KEYS})


def load_product(path: str | os.PathLike[str]) -> Product:
    """Read the ``[product]`` table of a TOML file.

    Raises
    ------
    InputError
        The file cannot be read or parsed, has no ``[product]`` table, or the table is
        invalid (see :func:`product_from_mapping`).
    """
    from efficacy.io._toml import load_toml

    file = Path(path)
    raw = load_toml(file)
    table = raw.get("product")
    if not isinstance(table, dict):
        raise InputError(f"{file}: no [product] table; add one with the keys " + ", ".join(_KEYS))
    return product_from_mapping(cast(Mapping[str, Any], table), f"{file} [product]")
