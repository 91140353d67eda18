"""Patient-reported outcome defects in ``pro_responses``."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from efficacy.sim._defects._planter import Planter

_P = "pro_responses"


def _item(p: Planter, sid: str, visit: str, instrument: str, scale: str, item: int) -> Hashable:
    return p.label(_P, subject_id=sid, visit=visit, instrument=instrument, scale=scale, item=item)


def plant_skindex_out_of_range(p: Planter) -> None:
    """PRO-001: Skindex-16 item 3 answered 7 (responses are 0-6)."""
    sid = p.subject()
    label = _item(p, sid, "W4", "skindex16", "symptoms", 3)
    p.set_cell(_P, label, "response", 7)
    p.expect(
        "PRO-001",
        "error",
        _P,
        label,
        subject_id=sid,
        visit="W4",
        column="response",
        what="Skindex-16 response 7 outside 0-6",
    )


def plant_faceq_out_of_range(p: Planter) -> None:
    """PRO-003: FACE-Q satisfaction item 2 answered 0 (responses are 1-4)."""
    sid = p.subject()
    label = _item(p, sid, "W12", "faceq", "satisfaction_facial_appearance", 2)
    p.set_cell(_P, label, "response", 0)
    p.expect(
        "PRO-003",
        "error",
        _P,
        label,
        subject_id=sid,
        visit="W12",
        column="response",
        what="FACE-Q response 0 outside 1-4",
    )


def plant_duplicated_item(p: Planter) -> None:
    """PRO-002: Skindex-16 item 9 entered twice at baseline."""
    sid = p.subject()
    new = p.insert_after(_P, _item(p, sid, "W0", "skindex16", "emotions", 9))
    p.expect(
        "PRO-002",
        "error",
        _P,
        new,
        subject_id=sid,
        visit="W0",
        column="item",
        what="Skindex-16 item 9 appears twice at W0",
    )


def plant_mostly_missing_scale(p: Planter) -> None:
    """PRO-004: 4 of the 7 Skindex-16 emotions items unanswered at the final visit."""
    sid = p.subject()
    frame = p.table(_P).copy()
    mask = (
        (frame["subject_id"] == sid)
        & (frame["visit"] == "W12")
        & (frame["instrument"] == "skindex16")
        & (frame["scale"] == "emotions")
        & frame["item"].isin([5, 6, 7, 8])
    )
    frame["response"] = frame["response"].astype(object)
    frame.loc[mask, "response"] = np.nan
    p.set_table(_P, frame)
    p.expect(
        "PRO-004",
        "warning",
        _P,
        None,
        subject_id=sid,
        visit="W12",
        column="response",
        what="4 of 7 emotions items missing (57% > 50%)",
    )


def plant_unknown_instrument(p: Planter) -> None:
    """PRO-005: one response to 'dlqi', an instrument the standard does not know."""
    sid = p.subject()
    new = p.insert_after(
        _P,
        _item(p, sid, "W0", "faceq", "psychological_function", 10),
        instrument="dlqi",
        scale="total",
        item=1,
        response=2,
    )
    p.expect(
        "PRO-005",
        "error",
        _P,
        new,
        subject_id=sid,
        visit="W0",
        column="instrument",
        what="instrument 'dlqi' is not skindex16 or faceq",
    )
