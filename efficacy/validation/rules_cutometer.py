"""INT-008: Cutometer amplitudes and R-parameters agree at a subject/visit/site.

Readings are put on a grid (one row per subject, visit, body site [, replicate]; one
column per Cutometer endpoint) with numpy fancy indexing, then each relation is checked
on whole columns. Relations (FACTS.md 4.1): Ua <= Uf, Ur <= Uf, Uf = Ue + Uv, R0 = Uf,
R8 = Ua, R2 = Ua/Uf, R5 = Ur/Ue, R6 = Uv/Ue, R7 = Ur/Uf. Where the amplitude Uf (Ua) is
not recorded, R0 (R8) stands in for it. Each relation is reported on the row of the
reading it is about (the R-parameter, or Uf for Uf = Ue + Uv, Ua/Ur for the
inequalities), so one wrong reading gives one finding where it can.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from efficacy.validation._rule import Rule, rule
from efficacy.validation.context import Context, combine
from efficacy.validation.findings import NotApplicable, Part, as_text, at_rows, text_by

_NAMES = ("uf", "ue", "uv", "ur", "ua", "r0", "r2", "r5", "r6", "r7", "r8")
_COL = {n: i for i, n in enumerate(_NAMES)}
_IDS = {f"cutometer_{n}": i for i, n in enumerate(_NAMES)}


def _grid(ctx: Context) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Values (groups x 11) and measurement rows (-1 where absent) of Cutometer readings."""
    m = ctx.need("measurements", "subject_id", "visit", "endpoint", "value", "body_site")
    code = ctx.map("measurements", "endpoint", _IDS, -1, np.int64)
    sel = (code >= 0) & ~np.isnan(ctx.meas.value)
    if not sel.any():
        raise NotApplicable("no Cutometer readings")
    key = ["subject_id", "visit", "body_site"] + (["replicate"] if "replicate" in m else [])
    group = combine(*(ctx.codes("measurements", k)[0][sel] for k in key))
    gid, _ = pd.factorize(group)
    n = int(gid.max()) + 1
    values = np.full((n, len(_NAMES)), np.nan)
    rows = np.full((n, len(_NAMES)), -1, dtype=np.int64)
    # reversed so that the first reading of a repeated key wins (INT-002 reports repeats)
    e, v, r = code[sel][::-1], ctx.meas.value[sel][::-1], m.index.to_numpy()[sel][::-1]
    values[gid[::-1], e] = v
    rows[gid[::-1], e] = r
    return values, rows, m


def _relations(
    x: np.ndarray, rows: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, str]]:
    """(kind, observed, expected, report rows, text) per relation."""
    c = _COL

    def col(name: str) -> np.ndarray:
        return x[:, c[name]]

    def row(name: str) -> np.ndarray:
        return rows[:, c[name]]

    uf = np.where(np.isnan(col("uf")), col("r0"), col("uf"))
    ua = np.where(np.isnan(col("ua")), col("r8"), col("ua"))
    ua_row = np.where(row("ua") >= 0, row("ua"), row("r8"))
    with np.errstate(divide="ignore", invalid="ignore"):
        return [
            ("le", ua, uf, ua_row, "Ua must not exceed Uf"),
            ("le", col("ur"), uf, row("ur"), "Ur must not exceed Uf"),
            ("eq", col("uf"), col("ue") + col("uv"), row("uf"), "Uf = Ue + Uv"),
            ("eq", col("r0"), col("uf"), row("r0"), "R0 = Uf"),
            ("eq", col("r8"), col("ua"), row("r8"), "R8 = Ua"),
            ("eq", col("r2"), ua / uf, row("r2"), "R2 = Ua/Uf"),
            ("eq", col("r5"), col("ur") / col("ue"), row("r5"), "R5 = Ur/Ue"),
            ("eq", col("r6"), col("uv") / col("ue"), row("r6"), "R6 = Uv/Ue"),
            ("eq", col("r7"), col("ur") / uf, row("r7"), "R7 = Ur/Uf"),
        ]


@rule(
    "INT-008",
    "Cutometer parameters consistent",
    "integrity",
    "error",
    "FACTS.md 4.1 (Cutometer: Uf = Ue + Uv; R0 = Uf, R2 = Ua/Uf, R5 = Ur/Ue, R7 = Ur/Uf)",
    "Where amplitudes are given, at the same subject/visit/site: Ua <= Uf, Ur <= Uf, "
    "Uf = Ue + Uv, and the R-parameters equal their amplitude formulas (relative "
    "tolerance [validation] cutometer_rel_tol, default 1e-2).",
)
def check_cutometer(ctx: Context) -> Iterator[Part]:
    """Cutometer relations violated beyond the relative tolerance."""
    values, rows, m = _grid(ctx)
    tol = float(ctx.params["cutometer_rel_tol"])
    checked = False
    for kind, obs, exp, at, text in _relations(values, rows):
        usable = np.isfinite(obs) & np.isfinite(exp) & (at >= 0)
        checked |= bool(usable.any())
        with np.errstate(invalid="ignore"):
            if kind == "le":
                bad = usable & (obs > exp * (1 + tol) + 1e-12)
            else:
                scale = np.maximum(np.abs(obs), np.abs(exp))
                bad = usable & (np.abs(obs - exp) > tol * scale + 1e-12)
        if not bad.any():
            continue
        found = m.loc[at[bad]]
        expected = text_by(pd.Series(exp[bad], index=found.index), lambda v: f"{v:.4g}")
        msg = (
            found["endpoint"].astype(str)
            + " "
            + as_text(found["value"]).astype(str)
            + f" breaks {text} (expected "
            + ("at most " if kind == "le" else "")
            + expected
            + f", relative tolerance {tol:g}); recompute it from the amplitudes or "
            "correct the readings of this subject, visit and site"
        )
        yield at_rows(
            found,
            table="measurements",
            column="value",
            message=msg,
            pattern=f"Cutometer parameter breaks {text}; recompute it from the amplitudes "
            "or correct the readings",
        )
    if not checked:
        raise NotApplicable("no Cutometer amplitudes to check the parameters against")


#: This module's rules, in order (joined by :data:`efficacy.validation.registry.DATA_RULES`).
RULES: tuple[Rule, ...] = (check_cutometer,)
