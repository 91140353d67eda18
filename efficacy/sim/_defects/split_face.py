"""Split-face defects: allocation of products to body sites, and measured sites."""

from __future__ import annotations

from efficacy.sim._defects._planter import Planter

_S = "subjects"


def _set_allocation(p: Planter, value: str) -> tuple[str, object]:
    sid = p.subject()
    label = p.label(_S, subject_id=sid)
    p.set_cell(_S, label, "allocation", value)
    return sid, label


def plant_site_allocated_twice(p: Planter) -> None:
    """INT-003: the left cheek is allocated to both products."""
    sid, label = _set_allocation(p, "left_cheek=ACTIVE;left_cheek=VEHICLE;right_cheek=VEHICLE")
    p.expect(
        "INT-003",
        "error",
        _S,
        label,
        subject_id=sid,
        column="allocation",
        what="left_cheek allocated to ACTIVE and to VEHICLE",
    )


def plant_same_product_both_sides(p: Planter) -> None:
    """DES-003: both cheeks get the active product; no control site."""
    sid, label = _set_allocation(p, "left_cheek=ACTIVE;right_cheek=ACTIVE")
    p.expect(
        "DES-003",
        "error",
        _S,
        label,
        subject_id=sid,
        column="allocation",
        what="allocation lacks the VEHICLE (control) site",
    )


def plant_unknown_arm_in_allocation(p: Planter) -> None:
    """SCH-008 + DES-003: the right cheek gets 'PLACEBO', an arm the manifest lacks."""
    sid, label = _set_allocation(p, "left_cheek=ACTIVE;right_cheek=PLACEBO")
    p.expect(
        "SCH-008",
        "error",
        _S,
        label,
        subject_id=sid,
        column="allocation",
        what="arm 'PLACEBO' is not in [[arms]]",
    )
    p.expect(
        "DES-003",
        "error",
        _S,
        label,
        subject_id=sid,
        column="allocation",
        what="allocation therefore lacks the VEHICLE site",
    )


def plant_randomised_without_allocation(p: Planter) -> None:
    """CON-002: a randomised split-face subject with an empty allocation."""
    sid, label = _set_allocation(p, "")
    p.expect(
        "CON-002",
        "error",
        _S,
        label,
        subject_id=sid,
        column="allocation",
        what="randomised but no allocation (no arm at any site)",
    )


def plant_unallocated_site(p: Planter) -> None:
    """DES-004: a Corneometer reading on the forehead, a site the allocation lacks."""
    sid = p.subject()
    m = "measurements"
    after = p.label(m, subject_id=sid, visit="W4", endpoint="corneometer", body_site="right_cheek")
    new = p.insert_after(m, after, body_site="forehead")
    p.expect(
        "DES-004",
        "error",
        m,
        new,
        subject_id=sid,
        visit="W4",
        column="body_site",
        what="forehead is not an allocated site",
    )
