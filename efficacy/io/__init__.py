"""Readers: trial bundles (CSV / Parquet / Excel) and CDISC ADaM, into a Trial.

:func:`read_trial` reads a bundle folder (``trial.toml`` plus tables);
:func:`read_adam` maps CDISC ADaM (ADSL + BDS; SAS XPORT v5, CSV or Parquet) onto the
same :class:`~efficacy.trial.Trial` model.
"""

from __future__ import annotations

from efficacy.io.adam import read_adam
from efficacy.io.bundle import read_trial

__all__ = ["read_adam", "read_trial"]
