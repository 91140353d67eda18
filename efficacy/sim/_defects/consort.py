"""CONSORT defects: attested flow counts, dispositions, population flags, [consort]."""

from __future__ import annotations

from efficacy.sim._defects._planter import Planter

_S = "subjects"


def plant_flow_mismatch(p: Planter) -> None:
    """CON-001: attested 'excluded' is 2 more than the data's screen failures."""
    flow = p.bundle.manifest["consort"]["flow"]
    flow["excluded"] = int(flow["excluded"]) + 2
    p.expect(
        "CON-001",
        "error",
        "manifest",
        None,
        column="excluded",
        what=f"attested excluded {flow['excluded']} != screen failures in the data "
        "and != assessed - randomised",
    )


def plant_screen_failure_without_reason(p: Planter) -> None:
    """CON-002: a screen failure without a reason."""
    sid = p.subject(disposition="screen_failure")
    label = p.label(_S, subject_id=sid)
    p.set_cell(_S, label, "discontinuation_reason", "")
    p.expect(
        "CON-002",
        "error",
        _S,
        label,
        subject_id=sid,
        column="discontinuation_reason",
        what="not randomised and no reason given",
    )


def plant_per_protocol_not_itt(p: Planter) -> None:
    """CON-003: a randomised completer in per_protocol but not in itt."""
    sid = p.subject(where=lambda r: bool(r["per_protocol"]))
    label = p.label(_S, subject_id=sid)
    p.set_cell(_S, label, "itt", False)
    p.expect(
        "CON-003",
        "error",
        _S,
        label,
        subject_id=sid,
        column="itt",
        what="per_protocol = true but itt = false",
    )


def plant_discontinued_without_reason(p: Planter) -> None:
    """CON-004: a discontinued subject without a reason."""
    sid = p.subject(disposition="discontinued")
    label = p.label(_S, subject_id=sid)
    p.set_cell(_S, label, "discontinuation_reason", "")
    p.expect(
        "CON-004",
        "warning",
        _S,
        label,
        subject_id=sid,
        column="discontinuation_reason",
        what="discontinued without a reason",
    )


def plant_no_registration_date(p: Planter) -> None:
    """CON-005: [consort] registration_date missing."""
    del p.bundle.manifest["consort"]["registration_date"]
    p.expect(
        "CON-005",
        "warning",
        "manifest",
        None,
        column="registration_date",
        what="registration_date not attested",
    )
