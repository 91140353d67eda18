"""Units as a reader sees them: the data and JSON keep ASCII ids (``um``), text shows µm.

One definition used by the report, the claims matrix and the analysis-dataset export.
"""

from __future__ import annotations

__all__ = ["unit_text"]

#: Units as typeset for a reader (the data and the JSON keep the ASCII ids).
_UNITS = {"um": "\u00b5m", "mm3": "mm\u00b3", "g/m2/h": "g/m\u00b2/h", "mm2": "mm\u00b2"}


def unit_text(unit: str | None) -> str:
    """Return `unit` typeset for a reader: ``um`` -> µm, ``mm3`` -> mm³, ``g/m2/h`` -> g/m²/h.

    Examples
    --------
    >>> unit_text("um"), unit_text("mm3"), unit_text("g/m2/h"), unit_text("a.u.")
    ('µm', 'mm³', 'g/m²/h', 'a.u.')
    """
    return _UNITS.get(unit or "", unit or "")
