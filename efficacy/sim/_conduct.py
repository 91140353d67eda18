"""Conduct of a simulated trial: deviations, PP exclusion reasons, coded AEs.

Each function draws from its own random stream (``default_rng([seed, 5])`` for the
deviations), so adding them changed no number the older streams produce.

AE coding uses a small vocabulary of this package (:data:`SIM_CODING`): made-up
organ-class labels marked ``[SIM]`` and preferred terms that restate the verbatim term.
It is **not MedDRA** (MedDRA is licensed by ICH and never shipped); it only lets the
sample bundles show a table by organ class and preferred term.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SIM_CODING", "code_adverse_events", "simulate_deviations"]

_SKIN = "Skin and application site [SIM]"
#: Verbatim term -> (organ class, preferred term) of the simulator's own vocabulary
#: (not MedDRA).
SIM_CODING: dict[str, tuple[str, str]] = {
    "erythema": (_SKIN, "Erythema"),
    "pruritus": (_SKIN, "Pruritus"),
    "dry skin": (_SKIN, "Dry skin"),
    "burning sensation": (_SKIN, "Burning sensation"),
    "stinging": (_SKIN, "Stinging"),
    "papules": (_SKIN, "Papules"),
    "contact dermatitis": (_SKIN, "Contact dermatitis"),
    "headache": ("Nervous system [SIM]", "Headache"),
    "nasopharyngitis": ("Infections [SIM]", "Nasopharyngitis"),
    "appendicitis": ("Gastrointestinal [SIM]", "Appendicitis"),
}

#: Major deviations that exclude a completer from per-protocol: (category, description).
_MAJOR = (
    ("prohibited product use", "applied a retinoid cream to the face between visits"),
    ("product application", "missed more than 20% of the planned applications"),
    ("measurement conditions", "acclimatisation before the final-visit measurement skipped"),
)
#: Minor deviations (no exclusion): (category, description).
_MINOR = (
    ("product application", "missed applications on 1 to 3 days"),
    ("measurement conditions", "acclimatisation shortened to 15 minutes at one visit"),
    ("informed consent", "re-consent after a protocol amendment signed late"),
)


def simulate_deviations(
    rng: np.random.Generator,
    subjects: pd.DataFrame,
    rand_ids: np.ndarray,
    last_day: np.ndarray,
) -> tuple[pd.DataFrame, pd.Series]:
    """Return the ``deviations`` table and ``subjects.pp_exclusion_reason``.

    Every randomised person outside per-protocol gets a reason: non-completers their
    disposition, completers a major deviation (listed in the table); about 15% of the
    randomised get a minor deviation that excludes no one.

    Parameters
    ----------
    rng : numpy.random.Generator
    subjects : pandas.DataFrame
        The simulated subjects table (all screened people).
    rand_ids, last_day : numpy.ndarray
        Randomised subject ids (screening order) and each one's last attended day.
    """
    day_of = dict(zip(rand_ids, last_day, strict=True))
    randomized = np.flatnonzero(subjects["randomized"].to_numpy(bool))
    reason = np.full(len(subjects), "", dtype=object)  # by position in `subjects`
    rows: list[tuple[str, str, str, bool, int]] = []
    for pos, sid, disp, pp in zip(
        randomized,
        subjects["subject_id"].to_numpy(object)[randomized],
        subjects["disposition"].to_numpy(object)[randomized],
        subjects["per_protocol"].to_numpy(object)[randomized],
        strict=True,
    ):
        last = int(day_of[sid])
        if not pp and disp != "completed":
            reason[pos] = f"did not complete the study ({str(disp).replace('_', ' ')})"
        elif not pp:
            cat, text = _MAJOR[int(rng.integers(len(_MAJOR)))]
            rows.append((str(sid), cat, text, True, int(rng.integers(1, max(last, 1) + 1))))
            reason[pos] = f"major protocol deviation: {cat}"
        if rng.random() < 0.15:
            cat, text = _MINOR[int(rng.integers(len(_MINOR)))]
            rows.append((str(sid), cat, text, False, int(rng.integers(1, max(last, 1) + 1))))
    table = pd.DataFrame(rows, columns=["subject_id", "category", "description", "major", "day"])
    table = table.sort_values(["subject_id", "day"], kind="stable").reset_index(drop=True)
    table = table.astype({"major": bool, "day": np.int64})
    return table, pd.Series(reason, index=subjects.index, dtype=object)


def code_adverse_events(aes: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """Add ``soc``, ``pt`` (:data:`SIM_CODING`), ``led_to_discontinuation`` and ``fatal``.

    An event led to discontinuation when it is a participant's event whose term their
    discontinuation reason names (``adverse event: contact dermatitis``); no event is
    fatal.
    """
    coded = [SIM_CODING.get(str(t), ("Other [SIM]", str(t).capitalize())) for t in aes["term"]]
    reasons = subjects["discontinuation_reason"].astype(str)
    reason = dict(zip(subjects["subject_id"], reasons, strict=True))
    led = [
        f"adverse event: {t}" == reason.get(s, "")
        for s, t in zip(aes["subject_id"], aes["term"], strict=True)
    ]
    return aes.assign(
        soc=[c[0] for c in coded],
        pt=[c[1] for c in coded],
        led_to_discontinuation=np.asarray(led, dtype=bool),
        fatal=np.zeros(len(aes), dtype=bool),
    )
