"""Integrity and schema defects in ``measurements`` and ``subjects``."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from efficacy.sim._defects._planter import Planter

_M = "measurements"


def _meas(p: Planter, sid: str, visit: str, endpoint: str) -> Hashable:
    return p.label(_M, subject_id=sid, visit=visit, endpoint=endpoint)


def _value(p: Planter, label: Hashable) -> float:
    """Return the numeric ``value`` of the measurement row labelled `label`."""
    value = p.table(_M).at[label, "value"]
    if not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{_M} row {label!r}: value {value!r} is not a number")
    return float(value)


def plant_duplicate_measurement(p: Planter) -> None:
    """INT-002: the W4 Corneometer reading of one subject is entered twice."""
    sid = p.subject()
    new = p.insert_after(_M, _meas(p, sid, "W4", "corneometer"))
    p.expect("INT-002", "error", _M, new, subject_id=sid, visit="W4", what="row entered twice")


def plant_day_outside_window(p: Planter) -> None:
    """INT-004: one W8 TEWL reading dated 7 days after the target day (window ± 4)."""
    sid = p.subject()
    label = _meas(p, sid, "W8", "tewl")
    p.set_cell(_M, label, "day", 63)
    p.expect(
        "INT-004",
        "warning",
        _M,
        label,
        subject_id=sid,
        visit="W8",
        column="day",
        what="day 63, W8 window is 56 ± 4",
    )


def plant_day_order_reversed(p: Planter) -> None:
    """INT-005 (+ INT-004): a W4 wrinkle Ra reading dated day 10, before the W2 visit."""
    sid = p.subject()
    label = _meas(p, sid, "W4", "wrinkle_ra")
    p.set_cell(_M, label, "day", 10)
    for rule, sev, what in (
        ("INT-005", "error", "W4 reading on day 10 precedes the W2 visit (day 11-17)"),
        ("INT-004", "warning", "day 10 is also outside the W4 window 28 ± 3"),
    ):
        p.expect(rule, sev, _M, label, subject_id=sid, visit="W4", column="day", what=what)


def plant_physical_limit(p: Planter) -> None:
    """INT-006: Corneometer 142 a.u., beyond the physical 0-130 (FACTS.md 4.2)."""
    sid = p.subject()
    label = _meas(p, sid, "W2", "corneometer")
    p.set_cell(_M, label, "value", 142.0)
    p.expect(
        "INT-006",
        "error",
        _M,
        label,
        subject_id=sid,
        visit="W2",
        column="value",
        what="corneometer 142 a.u. > physical maximum 130",
    )


def plant_implausible(p: Planter) -> None:
    """INT-007: TEWL 95 g/m2/h on the cheek, beyond the plausible 2-80."""
    sid = p.subject()
    label = _meas(p, sid, "W8", "tewl")
    p.set_cell(_M, label, "value", 95.0)
    p.expect(
        "INT-007",
        "warning",
        _M,
        label,
        subject_id=sid,
        visit="W8",
        column="value",
        what="TEWL 95 g/m2/h > plausible maximum 80",
    )


def plant_unknown_unit(p: Planter) -> None:
    """SCH-006: a Corneometer reading with unit '%' (hydration is in a.u.)."""
    sid = p.subject()
    label = _meas(p, sid, "W2", "corneometer")
    p.set_cell(_M, label, "unit", "%")
    p.expect(
        "SCH-006",
        "error",
        _M,
        label,
        subject_id=sid,
        visit="W2",
        column="unit",
        what="unit '%' is not a known unit",
    )


def plant_unknown_endpoint(p: Planter) -> None:
    """SCH-005: a Sebumeter reading, an endpoint not in the catalogue."""
    sid = p.subject()
    new = p.insert_after(
        _M,
        _meas(p, sid, "W4", "wrinkle_volume"),
        endpoint="sebumeter",
        value=85.0,
        unit="a.u.",
        body_site="forehead",
        device="Sebumeter SM 815",
        device_settings="cassette=64mm2;duration=30s",
    )
    p.expect(
        "SCH-005",
        "error",
        _M,
        new,
        subject_id=sid,
        visit="W4",
        column="endpoint",
        what="endpoint 'sebumeter' is not in the catalogue",
    )


def plant_unknown_visit(p: Planter) -> None:
    """SCH-007: an extra Corneometer reading at visit 'W6', which the manifest lacks."""
    sid = p.subject()
    new = p.insert_after(
        _M,
        _meas(p, sid, "W8", "wrinkle_volume"),
        visit="W6",
        day=42,
        endpoint="corneometer",
        value=55.5,
        unit="a.u.",
        body_site="left_cheek",
        device="Corneometer CM 825",
        device_settings="readings=3;acclimatisation=20min",
    )
    p.expect(
        "SCH-007",
        "error",
        _M,
        new,
        subject_id=sid,
        visit="W6",
        column="visit",
        what="visit 'W6' is not in [[visits]]",
    )


def plant_cutometer_inconsistent(p: Planter) -> None:
    """INT-008: R2 = 0.1 below Ua/Uf of the same subject, visit and site."""
    sid = p.subject()
    label = _meas(p, sid, "W4", "cutometer_r2")
    old = _value(p, label)
    p.set_cell(_M, label, "value", round(old - 0.1, 4))
    p.expect(
        "INT-008",
        "error",
        _M,
        label,
        subject_id=sid,
        visit="W4",
        column="value",
        what=f"R2 {old - 0.1:.4f} but Ua/Uf = {old:.4f}",
    )


def plant_subject_two_arms(p: Planter) -> None:
    """INT-001 + INT-003: a subject listed twice in subjects, once per arm."""
    sid = p.subject(arm="ACTIVE")
    s = "subjects"
    new = p.insert_after(s, p.label(s, subject_id=sid), arm="VEHICLE")
    p.expect(
        "INT-003",
        "error",
        s,
        new,
        subject_id=sid,
        column="arm",
        what="second row puts the subject in VEHICLE, first in ACTIVE",
    )
    p.expect(
        "INT-001",
        "error",
        s,
        new,
        subject_id=sid,
        column="subject_id",
        what="subject_id appears twice",
    )


def plant_unknown_subject(p: Planter) -> None:
    """SCH-009: a measurement for subject 'S9999', who is not in subjects."""
    sid = p.subject()
    new = p.insert_after(_M, _meas(p, sid, "W2", "corneometer"), subject_id="S9999")
    p.expect(
        "SCH-009",
        "error",
        _M,
        new,
        subject_id="S9999",
        visit="W2",
        column="subject_id",
        what="subject 'S9999' is not in subjects",
    )


def plant_screen_failure_data(p: Planter) -> None:
    """INT-010: a baseline Corneometer reading for a screen failure."""
    sf = p.subject(disposition="screen_failure")
    donor = p.subject()
    new = p.insert_after(_M, _meas(p, donor, "W0", "corneometer"), subject_id=sf)
    p.expect(
        "INT-010",
        "error",
        _M,
        new,
        subject_id=sf,
        visit="W0",
        what="screen failure (not randomised) has a measurement",
    )


def plant_non_numeric(p: Planter) -> None:
    """SCH-004: a wrinkle Rz value typed with a decimal comma ('102,4')."""
    sid = p.subject()
    label = _meas(p, sid, "W8", "wrinkle_rz")
    p.set_cell(_M, label, "value", "102,4")
    p.expect(
        "SCH-004",
        "error",
        _M,
        label,
        subject_id=sid,
        visit="W8",
        column="value",
        what="'102,4' is not a number (decimal comma)",
    )


def plant_missing_value(p: Planter) -> None:
    """INT-009: an empty TEWL value."""
    sid = p.subject()
    label = _meas(p, sid, "W2", "tewl")
    p.set_cell(_M, label, "value", np.nan)
    p.expect(
        "INT-009",
        "warning",
        _M,
        label,
        subject_id=sid,
        visit="W2",
        column="value",
        what="value is empty",
    )


def plant_room_too_warm(p: Planter) -> None:
    """INT-011 (notice): room at 27.5 °C for one Corneometer reading."""
    sid = p.subject()
    label = _meas(p, sid, "W12", "corneometer")
    p.set_cell(_M, label, "temperature_c", 27.5)
    p.expect(
        "INT-011",
        "notice",
        _M,
        label,
        subject_id=sid,
        visit="W12",
        column="temperature_c",
        what="27.5 °C outside 18-26 °C",
    )


def plant_convertible_units(p: Planter) -> None:
    """Decoys: a wrinkle depth recorded in mm, a Ra recorded in 'µm' (both legitimate).

    The catalogue converts mm to um and accepts the micro sign, so neither may be
    reported (a validator comparing raw mm values with um limits would flag INT-007).
    """
    sid = p.subject()
    label = _meas(p, sid, "W4", "wrinkle_depth_max")
    um = _value(p, label)
    p.set_cell(_M, label, "value", round(um / 1000.0, 4))
    p.set_cell(_M, label, "unit", "mm")
    p.allow(
        _M,
        label,
        subject_id=sid,
        visit="W4",
        column="unit",
        what=f"{um / 1000.0:.4f} mm = {um} um: converted, not flagged",
    )
    label = _meas(p, sid, "W4", "wrinkle_ra")
    p.set_cell(_M, label, "unit", "µm")
    p.allow(
        _M,
        label,
        subject_id=sid,
        visit="W4",
        column="unit",
        what="'µm' (micro sign) is an accepted spelling of um",
    )
