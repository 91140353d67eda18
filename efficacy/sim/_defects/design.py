"""Design, standard (ISO-*) and manifest defects."""

from __future__ import annotations

from efficacy.errors import EfficacyError
from efficacy.sim._defects._planter import Planter

_M = "measurements"


def plant_short_follow_up(p: Planter) -> None:
    """ISO-DUR: the schedule ends at week 8 (the base simulation is run with 8 weeks).

    Visits, PROs and completers' last readings all stop at W8, so only the duration
    requirement fails (planned 8 < 12 weeks; observed likewise).
    """
    weeks = [v["week"] for v in p.bundle.manifest["visits"]]
    if max(weeks) >= 12:
        raise EfficacyError("plant_short_follow_up needs a base simulated with weeks < 12")
    p.expect(
        "ISO-DUR",
        "error",
        "manifest",
        None,
        what=f"planned follow-up {max(weeks)} weeks < 12 (observed also ~{max(weeks)})",
    )


def plant_no_hydration(p: Planter) -> None:
    """ISO-HYD: every Corneometer reading removed; no hydration endpoint remains."""
    frame = p.table(_M)
    n = p.drop(_M, frame["endpoint"] == "corneometer")
    p.expect("ISO-HYD", "error", _M, None, what=f"no hydration endpoint ({n} rows removed)")


def plant_wrinkle_settings_missing(p: Planter) -> None:
    """ISO-WRINKLE: device_settings empty on every profilometry row."""
    frame = p.table(_M).copy()
    mask = frame["endpoint"].str.startswith("wrinkle_")
    frame.loc[mask, "device_settings"] = ""
    p.set_table(_M, frame)
    p.expect(
        "ISO-WRINKLE",
        "error",
        _M,
        None,
        column="device_settings",
        what=f"wrinkle device settings empty on all {int(mask.sum())} rows",
    )


def plant_missing_baseline(p: Planter) -> None:
    """DES-002: two subjects lack one baseline endpoint each (TEWL; wrinkle volume)."""
    for endpoint in ("tewl", "wrinkle_volume"):
        sid = p.subject()
        frame = p.table(_M)
        mask = (
            (frame["subject_id"] == sid)
            & (frame["visit"] == "W0")
            & (frame["endpoint"] == endpoint)
        )
        if p.drop(_M, mask) != 1:
            raise EfficacyError(f"expected one W0 {endpoint} row for {sid}")
        p.expect(
            "DES-002",
            "warning",
            _M,
            None,
            subject_id=sid,
            visit="W0",
            what=f"no baseline {endpoint} for a randomised subject",
        )


def plant_no_control_arm(p: Planter) -> None:
    """DES-001 + ISO-RCT: no arm is declared control (VEHICLE has control = false)."""
    for arm in p.bundle.manifest["arms"]:
        arm["control"] = False
    p.expect("DES-001", "error", "manifest", None, what="no arm has control = true")
    p.expect("ISO-RCT", "error", "manifest", None, what="no concurrent control arm")


def plant_escaping_table_path(p: Planter) -> None:
    """Unusable input: [tables] measurements points outside the bundle folder.

    The path names a real file (the clean parallel bundle's measurements next door), so
    only a reader that refuses paths leaving the bundle passes.
    """
    p.bundle.manifest["tables"] = {"measurements": "../parallel_12wk/measurements.csv"}
