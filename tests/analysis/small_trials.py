"""Cut a sample bundle down to a few subjects, keeping the bundle valid.

Used by the small-trial tests (tests/analysis/test_analysis_small_trials.py) and by
benchmarks/bench_small_trials.py (which loads this file by path, so it imports nothing
from ``efficacy`` and runs against any checkout).

A cut keeps the first `n` randomised subjects (parallel trials: alternately from each
arm, so both arms are represented), drops the screen failures, filters every table to
the kept subjects and rewrites the three ``[consort.flow]`` counts of ``trial.toml``
(``assessed_for_eligibility = randomised = n``, ``excluded = 0``); everything else is
copied byte for byte. The source bundle is never modified.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"

_TABLES = ("measurements", "pro_responses", "adverse_events")


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def _pick(subjects: pd.DataFrame, n: int) -> list[str]:
    rand = subjects.loc[subjects["randomized"] == "true"]
    if "arm" not in rand.columns:  # split-face: allocation per site, one row per subject
        return list(rand["subject_id"].head(n))
    by_arm = [list(g["subject_id"]) for _, g in rand.groupby("arm", sort=True)]
    out: list[str] = []
    i = 0
    while len(out) < n:
        for ids in by_arm:
            if i < len(ids) and len(out) < n:
                out.append(ids[i])
        i += 1
    return out


def cut_bundle(
    source: str | Path, target: str | Path, n: int, subjects: Sequence[str] | None = None
) -> list[str]:
    """Write a copy of bundle `source` with `n` randomised subjects to `target`.

    Parameters
    ----------
    source : path
        A clean sample bundle (CSV tables, ``trial.toml``).
    target : path
        Folder to create (must not exist).
    n : int
        Number of randomised subjects to keep.
    subjects : sequence of str, optional
        The subject ids to keep (default: chosen as the module docstring says).

    Returns
    -------
    list of str
        The kept subject ids.
    """
    source, target = Path(source), Path(target)
    shutil.copytree(source, target)
    subj = _read(source / "subjects.csv")
    keep = list(subjects) if subjects is not None else _pick(subj, n)
    _write(subj.loc[subj["subject_id"].isin(keep)], target / "subjects.csv")
    for name in _TABLES:
        frame = _read(source / f"{name}.csv")
        _write(frame.loc[frame["subject_id"].isin(keep)], target / f"{name}.csv")
    text = (source / "trial.toml").read_text(encoding="utf-8")
    counts = {"assessed_for_eligibility": len(keep), "excluded": 0, "randomised": len(keep)}
    for key, value in counts.items():
        text, k = re.subn(rf"(?m)^{key} = \d+$", f"{key} = {value}", text)
        if k != 1:
            raise ValueError(f"{source / 'trial.toml'}: expected one line '{key} = <count>'")
    (target / "trial.toml").write_text(text, encoding="utf-8")
    return keep
