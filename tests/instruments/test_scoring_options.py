"""ScoringOptions: read from a protocol (missing-item fraction, 2D devices), checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from efficacy.errors import EfficacyError
from efficacy.instruments import ResponderRule, ScoringOptions
from efficacy.protocol import load_protocol

PROTOCOL = """\
extends = "iso-efficacy-2025"

[protocol]
id = "acme-scoring"
version = "1"
title = "stricter PRO rule"

[requirements.ISO-WRINKLE.parameters]
modality = "wrinkle_depth"
exclude_devices = ["VISIA", "SkinCam2D"]

[validation]
pro_min_answered_fraction = 0.75
"""


def test_from_builtin_protocol() -> None:
    opts = ScoringOptions.from_protocol(load_protocol("iso-efficacy-2025"))
    assert opts.min_answered_fraction == 0.5
    assert opts.exclude_2d_devices == ("VISIA",)
    assert opts.responders == () and opts.cutometer_curves is None


def test_from_user_protocol_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text(PROTOCOL)
    rule = ResponderRule("corneometer", "percent", 10)
    opts = ScoringOptions.from_protocol(
        load_protocol(path), cutometer_curves=[2, 3, 4], responders=[rule]
    )
    assert opts.min_answered_fraction == 0.75
    assert opts.exclude_2d_devices == ("VISIA", "SkinCam2D")
    assert opts.cutometer_curves == (2, 3, 4) and opts.responders == (rule,)
    assert opts.to_dict()["responders"] == [
        {"endpoint": "corneometer", "kind": "percent", "threshold": 10, "direction": None}
    ]


def test_problems_listed_together() -> None:
    with pytest.raises(EfficacyError) as info:
        ScoringOptions(min_answered_fraction=1.5, cutometer_curves=(), responders=("x",))
    msg = str(info.value)
    assert "min_answered_fraction=1.5" in msg and "cutometer_curves=()" in msg
    assert "responders must hold ResponderRule objects" in msg
    with pytest.raises(EfficacyError, match="unknown ScoringOptions field"):
        ScoringOptions.from_protocol(load_protocol("iso-efficacy-2025"), overall=True)


def test_forward_compatible_scoring_section() -> None:
    """A protocol object with a ``scoring`` mapping (proposed [scoring] TOML section)."""
    from types import SimpleNamespace

    base = load_protocol("iso-efficacy-2025")
    proto = SimpleNamespace(
        parameters=base.parameters,
        requirements=base.requirements,
        scoring={
            "skindex16_overall": True,
            "cutometer_curves": [2, 3, 4],
            "responders": [{"endpoint": "tewl", "kind": "percent", "threshold": 15}],
        },
    )
    opts = ScoringOptions.from_protocol(proto, skindex16_overall=False)
    assert opts.cutometer_curves == (2, 3, 4) and not opts.skindex16_overall
    assert opts.responders == (ResponderRule("tewl", "percent", 15),)
    proto.scoring = {"mcid": 3}
    with pytest.raises(EfficacyError, match=r"\[scoring\] keys \['mcid'\] are unknown"):
        ScoringOptions.from_protocol(proto)
