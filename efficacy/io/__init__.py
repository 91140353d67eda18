"""Readers and writers: trial bundles, CDISC ADaM and Dataset-JSON, analysis datasets.

:func:`read_trial` reads a bundle folder (``trial.toml`` plus tables);
:func:`read_input` takes whatever a command was given (a bundle, a folder of ADaM
datasets, or a bundle whose trial.toml points at ADaM datasets);
:func:`read_adam` maps CDISC ADaM (ADSL + BDS; SAS XPORT v5, CSV or Parquet) onto the
same :class:`~efficacy.trial.Trial` model. :func:`read_dataset` reads one dataset of any
format (XPT, Dataset-JSON ``.json`` / ``.ndjson`` / ``.dsjc``, CSV, Parquet) typed, with
its metadata and conformance problems; :func:`read_datasetjson` and
:func:`write_datasetjson` read and write CDISC Dataset-JSON v1.1;
:func:`analysis_datasets` builds the ADSL and ADEFF analysis datasets of a trial (what
``efficacy export`` writes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from efficacy._lazy import lazy_exports

#: Public name -> module. Imported on first use (PEP 562): a module of this package
#: (e.g. ``efficacy.io._toml``, which the protocol loader reads TOML with) is importable
#: without the readers of every format, and ``read_trial`` without pyreadstat.
_EXPORTS: dict[str, str] = {
    "analysis_datasets": "efficacy.io.export",
    "read_adam": "efficacy.io.adam",
    "read_adam_folder": "efficacy.io.input",
    "read_dataset": "efficacy.io.datasets",
    "read_datasetjson": "efficacy.io.datasetjson",
    "read_input": "efficacy.io.input",
    "read_trial": "efficacy.io.bundle",
    "write_datasetjson": "efficacy.io.datasetjson",
}

__all__ = [
    "analysis_datasets",
    "read_adam",
    "read_adam_folder",
    "read_dataset",
    "read_datasetjson",
    "read_input",
    "read_trial",
    "write_datasetjson",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from efficacy.io.adam import read_adam
    from efficacy.io.bundle import read_trial
    from efficacy.io.datasetjson import read_datasetjson, write_datasetjson
    from efficacy.io.datasets import read_dataset
    from efficacy.io.export import analysis_datasets
    from efficacy.io.input import read_adam_folder, read_input


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
