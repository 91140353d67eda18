"""Example data for the docstring Examples, read from a source checkout.

The Examples of the public API run on data the repository already holds: the sample
trial bundles in ``sample_data/`` and the MMRM reference data in ``tests/reference/``.
Neither ships inside the wheel; from an installed package these helpers say so.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from efficacy.errors import EfficacyError

__all__ = ["FEV_LEVELS", "fev_data", "repo_path"]

#: Factor levels of fev_data as SAS and R used them (first level = reference).
FEV_LEVELS: dict[str, list[str]] = {
    "RACE": ["Asian", "Black or African American", "White"],
    "SEX": ["Male", "Female"],
    "ARMCD": ["PBO", "TRT"],
    "AVISIT": ["VIS1", "VIS2", "VIS3", "VIS4"],
}


def repo_path(*parts: str) -> Path:
    """Path of a file of the source checkout this package was imported from.

    Raises
    ------
    EfficacyError
        When the path does not exist (an installed package has no ``sample_data/``
        or ``tests/``).

    Examples
    --------
    >>> repo_path("sample_data", "parallel_12wk").name
    'parallel_12wk'
    """
    path = Path(__file__).resolve().parents[1].joinpath(*parts)
    if not path.exists():
        raise EfficacyError(
            f"{path} does not exist: the examples need a source checkout of efficacy "
            "(sample_data/ and tests/reference/ are not installed with the package)"
        )
    return path


@cache
def _fev() -> pd.DataFrame:
    df = pd.read_csv(repo_path("tests", "reference", "mmrm", "fev_data.csv"))
    for col, levels in FEV_LEVELS.items():
        df[col] = pd.Categorical(df[col], categories=levels)
    return df


def fev_data() -> pd.DataFrame:
    """R mmrm's ``fev_data`` (tests/reference/mmrm) with SAS's and R's factor levels.

    Returns
    -------
    pandas.DataFrame
        A fresh copy: 800 rows (200 subjects x 4 visits), FEV1 missing where the
        subject had no measurement.

    Examples
    --------
    >>> df = fev_data()
    >>> df.shape, list(df["ARMCD"].cat.categories)
    ((800, 10), ['PBO', 'TRT'])
    """
    return _fev().copy()
