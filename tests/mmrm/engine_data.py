"""Engine inputs built by hand from fev_data / bcva_data (no formula front end).

Columns follow R's ``model.matrix`` order for the models of
``tests/reference/mmrm/sas_reference.md`` (treatment contrasts, first level reference).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from efficacy.mmrm.engine import ModelArrays
from tests.mmrm.conftest import load_bcva, load_fev

MAIN_TERMS = (
    "(Intercept)",
    "RACEBlack or African American",
    "RACEWhite",
    "SEXFemale",
    "ARMCDTRT",
    "AVISITVIS2",
    "AVISITVIS3",
    "AVISITVIS4",
    "ARMCDTRT:AVISITVIS2",
    "ARMCDTRT:AVISITVIS3",
    "ARMCDTRT:AVISITVIS4",
)


def _sorted_fev(visits: tuple[str, ...] | None = None) -> pd.DataFrame:
    """fev_data's observed rows sorted by subject and visit (a fresh copy every call)."""
    return _sorted_fev_once(visits).copy()


@cache
def _sorted_fev_once(visits: tuple[str, ...] | None) -> pd.DataFrame:
    """:func:`_sorted_fev`'s frame, built once per `visits` (never handed out)."""
    df = load_fev()
    df = df[df["FEV1"].notna()]
    if visits is not None:
        df = df[df["AVISIT"].isin(visits)].copy()
        df["AVISIT"] = df["AVISIT"].cat.set_categories(list(visits))
    df = df.assign(_sid=pd.factorize(df["USUBJID"], sort=True)[0])
    df = df.sort_values(["_sid", "AVISIT"]).reset_index(drop=True)
    return df.assign(_sid=pd.factorize(df["_sid"])[0])


def fev_arrays(
    model: str = "main",
    group: str | None = None,
    weighted: bool = False,
    visits: tuple[str, ...] | None = None,
) -> ModelArrays:
    """fev_data as engine arrays.

    ``model``: ``"main"`` (RACE + SEX + ARMCD * AVISIT), ``"armcd"`` (ARMCD) or
    ``"intercept"``; ``group``: a subject-level factor for grouped covariance;
    ``weighted``: use the WEIGHT column; ``visits``: keep only these visits.
    """
    df = _sorted_fev(visits)
    cols: list[np.ndarray] = [np.ones(len(df))]
    race, sex = df["RACE"].cat.codes.to_numpy(), df["SEX"].cat.codes.to_numpy()
    arm, vis = df["ARMCD"].cat.codes.to_numpy(), df["AVISIT"].cat.codes.to_numpy()
    if model == "main":
        cols += [race == 1, race == 2, sex == 1, arm == 1]
        cols += [vis == k for k in (1, 2, 3)]
        cols += [(arm == 1) & (vis == k) for k in (1, 2, 3)]
    elif model == "armcd":
        cols.append(arm == 1)
    elif model != "intercept":
        raise ValueError(model)
    grp = None
    if group is not None:
        grp = df.groupby("_sid")[group].first().cat.codes.to_numpy().astype(np.int64)
    return ModelArrays(
        X=np.column_stack(cols).astype(float),
        y=df["FEV1"].to_numpy(dtype=float),
        subject=df["_sid"].to_numpy(dtype=np.int64),
        visit=vis.astype(np.int64),
        n_visits=len(df["AVISIT"].cat.categories),
        group=grp,
        n_groups=1 if grp is None else int(grp.max()) + 1,
        weights=df["WEIGHT"].to_numpy(dtype=float) if weighted else None,
    )


def bcva_arrays() -> ModelArrays:
    """bcva_data: BCVA_CHG ~ BCVA_BL + RACE + ARMCD * AVISIT (23 columns), 10 visits."""
    df = load_bcva()
    df = df.assign(_sid=pd.factorize(df["USUBJID"])[0])
    df = df.sort_values(["_sid", "AVISIT"]).reset_index(drop=True)
    df = df.assign(_sid=pd.factorize(df["_sid"])[0])
    vis = df["AVISIT"].cat.codes.to_numpy()
    arm, race = df["ARMCD"].cat.codes.to_numpy(), df["RACE"].cat.codes.to_numpy()
    cols = [np.ones(len(df)), df["BCVA_BL"].to_numpy(), race == 1, race == 2, arm == 1]
    cols += [vis == k for k in range(1, 10)]
    cols += [(arm == 1) & (vis == k) for k in range(1, 10)]
    return ModelArrays(
        X=np.column_stack(cols).astype(float),
        y=df["BCVA_CHG"].to_numpy(dtype=float),
        subject=df["_sid"].to_numpy(dtype=np.int64),
        visit=vis.astype(np.int64),
        n_visits=10,
    )


def sas_un_to_r(values: dict[tuple[int, int], float], order: list[int]) -> np.ndarray:
    """Covariance matrix in R's visit order from SAS ``UN(i,j)`` values.

    ``order[k]`` is the SAS index (0-based) of R's visit ``k``; with
    ``CLASS AVISIT(ref='VIS1')`` SAS lists VIS2, VIS3, VIS4, VIS1, i.e. ``[3, 0, 1, 2]``.
    """
    m = len(order)
    sas = np.zeros((m, m))
    for (i, j), val in values.items():
        sas[i - 1, j - 1] = sas[j - 1, i - 1] = val
    return sas[np.ix_(order, order)]
