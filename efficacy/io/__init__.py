"""Readers: trial bundles (CSV / Parquet / Excel) and CDISC ADaM, into a Trial.

:func:`read_trial` reads a bundle folder (``trial.toml`` plus tables);
:func:`read_input` takes whatever a command was given (a bundle, a folder of ADaM
datasets, or a bundle whose trial.toml points at ADaM datasets);
:func:`read_adam` maps CDISC ADaM (ADSL + BDS; SAS XPORT v5, CSV or Parquet) onto the
same :class:`~efficacy.trial.Trial` model.
"""

from __future__ import annotations

from efficacy.io.adam import read_adam
from efficacy.io.bundle import read_trial
from efficacy.io.input import read_adam_folder, read_input

__all__ = ["read_adam", "read_adam_folder", "read_input", "read_trial"]
