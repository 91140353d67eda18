"""Design rules (DES-*): control arm, baselines, split-face allocation and body sites."""

from __future__ import annotations

from collections.abc import Hashable, Iterator

import numpy as np
import pandas as pd

from efficacy.validation._rule import Rule, rule
from efficacy.validation.context import Context, arm_members, combine, flag
from efficacy.validation.findings import (
    CouldNotRun,
    NotApplicable,
    Part,
    at_rows,
    at_trial,
    text_by,
)

_WITHIN = "CONSORT within-person extension (FACTS.md 1.4)"


@rule(
    "DES-001",
    "Control arm declared and used",
    "design",
    "error",
    "CONSORT 2010 items 2b, 8-10; FACTS.md 1.3, 1.4",
    "The manifest declares a control arm (parallel) or control product for a body site "
    "(split-face), and randomised subjects are allocated to it.",
)
def check_control(ctx: Context) -> Iterator[Part]:
    """Require a declared control with randomised subjects (sites) allocated to it."""
    if not ctx.arm_ids:
        raise NotApplicable("the manifest declares no arms (see SCH-001)")
    where = "body site" if ctx.split_face else "arm"
    if not ctx.control_ids:
        yield at_trial(
            table="manifest",
            message=f"no arm has control = true; mark the control {where}'s arm in [[arms]]",
        )
        return
    ctx.need("subjects", "subject_id", "randomized")
    members = arm_members(ctx)
    used = ctx.control_ids & set(members["arm"])
    if not used:
        controls = ", ".join(sorted(ctx.control_ids))
        yield at_trial(
            table="subjects",
            column="allocation" if ctx.split_face else "arm",
            value=controls,
            message=f"no randomised subject is allocated to the control {where} ({controls}); "
            "check subjects.arm / allocation",
        )


@rule(
    "DES-002",
    "Baseline measured",
    "design",
    "warning",
    "change-from-baseline analysis (DESIGN.md: Statistics)",
    "Every randomised subject has a baseline-visit measurement row for every endpoint "
    "measured in the trial (a row with an empty value is INT-009's).",
)
def check_baselines(ctx: Context) -> Iterator[Part]:
    """Randomised subject x endpoint pairs without a baseline row."""
    ctx.need("measurements", "subject_id", "visit", "endpoint")
    ctx.need("subjects", "subject_id", "randomized")
    if ctx.baseline is None:
        raise CouldNotRun("baseline_visit is not a declared visit (see SCH-001)")
    t = "measurements"
    known = ctx.meas.known
    s_codes, s_uni = ctx.codes(t, "subject_id")
    e_codes, e_uni = ctx.codes(t, "endpoint")
    s_all, e_all = s_uni.tolist(), e_uni.tolist()
    endpoints = sorted({e_all[c] for c in set(e_codes[known].tolist())})
    subjects = sorted(ctx.randomised_ids)
    if len(endpoints) == 0 or len(subjects) == 0:
        return
    at_base = ctx.isin(t, "visit", [ctx.baseline.id]) & known & (s_codes >= 0)
    have = {
        (s_all[s], e_all[e])
        for s, e in set(zip(s_codes[at_base].tolist(), e_codes[at_base].tolist(), strict=True))
    }
    lacking = [(s, e) for s in subjects for e in endpoints if (s, e) not in have]
    if len(lacking) == 0:
        return
    base = ctx.baseline.id
    endpoint = [e for _, e in lacking]
    yield pd.DataFrame(
        {
            "severity": None,
            "table": "measurements",
            "column": None,
            "subject_id": np.array([s for s, _ in lacking], dtype=object),
            "visit": base,
            "row": None,
            "value": np.array(endpoint, dtype=object),
            "message": np.array(
                [
                    f"randomised subject has no baseline ({base}) {e} reading; add it, or "
                    "record why it is missing"
                    for e in endpoint
                ],
                dtype=object,
            ),
            "pattern": f"randomised subject has no baseline ({base}) reading of an endpoint; "
            "add it, or record why it is missing",
        }
    )


@rule(
    "DES-003",
    "Split-face allocation well formed",
    "design",
    "error",
    _WITHIN,
    "Each randomised split-face subject's allocation is a list of site=ARM pairs giving "
    "every declared arm its own body site (a site given twice is INT-003; an empty "
    "allocation is CON-002; an unknown arm SCH-008).",
)
def check_allocation(ctx: Context) -> Iterator[Part]:
    """Malformed pairs, and arms missing from a subject's allocation."""
    if not ctx.split_face:
        raise NotApplicable("not a split-face design")
    s = ctx.need("subjects", "subject_id", "randomized", "allocation")
    a = ctx.allocation
    rand_rows = s.index[flag(s["randomized"], True).to_numpy()]
    a = a[a["row"].isin(rand_rows)]
    bad = a[~a["ok"]].drop_duplicates("row").set_index("row")
    if len(bad):
        rows = s.loc[bad.index]
        yield at_rows(
            rows,
            table="subjects",
            column="allocation",
            message="allocation part " + bad["pair"].map(repr) + " is not of the form site=ARM",
            pattern="allocation part is not of the form site=ARM",
        )
    arms = sorted(ctx.arm_ids)
    ok = a[a["ok"]]
    given: dict[Hashable, set[str]] = {}
    for row, arm in zip(ok["row"], ok["arm"], strict=True):
        given.setdefault(row, set()).add(arm)
    alloc_rows = rand_rows.intersection(pd.Index(a["row"].unique()))
    lacking = {
        row: [x for x in arms if x not in given.get(row, set())]
        for row in alloc_rows
        if not set(arms) <= given.get(row, set())
    }
    if lacking:
        rows = s.loc[list(lacking)]
        texts = [f"allocation lacks arm(s) {', '.join(v)}" for v in lacking.values()]
        msg = pd.Series(texts, index=rows.index) + "; give every arm its own body site"
        yield at_rows(
            rows,
            table="subjects",
            column="allocation",
            message=msg,
            pattern="allocation lacks an arm; give every arm its own body site",
        )


@rule(
    "DES-004",
    "Measured body site allocated",
    "design",
    "error",
    _WITHIN,
    "Split-face: a randomised subject's measurement is at a body site that the "
    "subject's allocation does not name, so its arm is unknown.",
)
def check_measured_sites(ctx: Context) -> Iterator[Part]:
    """Split-face measurements at body sites outside the subject's allocation."""
    if not ctx.split_face:
        raise NotApplicable("not a split-face design")
    m = ctx.need("measurements", "subject_id", "body_site")
    ctx.need("subjects", "subject_id", "randomized", "allocation")
    a = ctx.allocation
    a = a[a["ok"] & a["subject_id"].isin(ctx.randomised_ids)]
    t = "measurements"
    s_codes, s_uni = ctx.codes(t, "subject_id")
    b_codes, b_uni = ctx.codes(t, "body_site")
    check = ctx.isin(t, "subject_id", a["subject_id"].unique()) & (b_codes >= 0)
    key = combine(s_codes, b_codes)
    pairs = pd.DataFrame({"k": key[check], "s": s_codes[check], "b": b_codes[check]})
    pairs = pairs.drop_duplicates("k")
    allocated = set(zip(a["subject_id"], a["site"], strict=True))
    names = zip(s_uni.take(pairs["s"].to_numpy()), b_uni.take(pairs["b"].to_numpy()), strict=True)
    bad_keys = pairs["k"][[name not in allocated for name in names]]
    bad = check & np.isin(key, bad_keys.to_numpy())
    if bad.any():
        rows = m[bad]
        yield at_rows(
            rows,
            table="measurements",
            column="body_site",
            message="body site "
            + text_by(rows["body_site"], repr)
            + " is not in this subject's allocation; use an allocated site",
            pattern="body site is not in this subject's allocation; use an allocated site",
        )


#: This module's rules, in order (joined by :data:`efficacy.validation.registry.DATA_RULES`).
RULES: tuple[Rule, ...] = (
    check_control,
    check_baselines,
    check_allocation,
    check_measured_sites,
)
