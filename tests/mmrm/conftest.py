"""Shared fixtures: the mmrm reference data with R's / SAS's factor levels."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "mmrm"


def load_fev() -> pd.DataFrame:
    """fev_data with the factor levels R and SAS used (first level = reference).

    A fresh copy on every call of the frame :func:`_fev` builds once.
    """
    return _fev().copy()


@cache
def _fev() -> pd.DataFrame:
    """:func:`load_fev`'s frame, read and levelled once (never handed out)."""
    df = pd.read_csv(REF / "fev_data.csv")
    levels = {
        "RACE": ["Asian", "Black or African American", "White"],
        "SEX": ["Male", "Female"],
        "ARMCD": ["PBO", "TRT"],
        "AVISIT": ["VIS1", "VIS2", "VIS3", "VIS4"],
    }
    for col, lev in levels.items():
        df[col] = pd.Categorical(df[col], categories=lev)
    return df


def load_bcva() -> pd.DataFrame:
    """bcva_data with AVISIT VIS01..VIS10 and ARMCD CTL < TRT (a fresh copy every call)."""
    return _bcva().copy()


@cache
def _bcva() -> pd.DataFrame:
    """:func:`load_bcva`'s frame, read and levelled once (never handed out)."""
    df = pd.read_csv(REF / "bcva_data.csv")
    df["AVISIT"] = pd.Categorical(df["AVISIT"], categories=[f"VIS{i:02d}" for i in range(1, 11)])
    df["ARMCD"] = pd.Categorical(df["ARMCD"], categories=["CTL", "TRT"])
    df["RACE"] = pd.Categorical(df["RACE"])
    df["USUBJID"] = df["USUBJID"].astype(str)
    return df


@pytest.fixture(scope="session")
def fev_data() -> pd.DataFrame:
    return load_fev()


@pytest.fixture(scope="session")
def bcva_data() -> pd.DataFrame:
    return load_bcva()
