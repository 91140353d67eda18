"""Instrument values: Cutometer R-parameters, replicates, apertures, units, 2D imaging.

R-parameters (FACTS.md 4.1): R0 = Uf, R2 = Ua/Uf, R5 = Ur/Ue, R6 = Uv/Ue, R7 = Ur/Uf,
R8 = Ua. Expected values below are computed by hand from the amplitudes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from efficacy.errors import EfficacyError
from efficacy.instruments import ScoringError, prepare_measurements
from efficacy.instruments.cutometer import parse_device_settings, probe_aperture
from efficacy.instruments.measures import VALUE_COLUMNS

CUTO = "Cutometer dual MPA 580"
P2 = "probe=2mm;suction=450mbar"


def _rows(specs: list[tuple], **extra: object) -> pd.DataFrame:
    """specs: (endpoint, value, unit[, visit, day, replicate, settings, device])."""
    recs = []
    for s in specs:
        endpoint, value, unit, *rest = s
        visit, day, rep, settings, device = (rest + [None] * 5)[:5]
        recs.append(
            {
                "subject_id": "S1",
                "visit": visit or "W0",
                "day": 0 if day is None else day,
                "endpoint": endpoint,
                "value": value,
                "unit": unit,
                "body_site": "left_cheek",
                "device": device or (CUTO if endpoint.startswith("cutometer") else "PRIMOS CR"),
                "device_settings": settings or P2,
                **({"replicate": rep} if rep is not None else {}),
            }
        )
    frame = pd.DataFrame(recs)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return frame


AMPS = [
    ("cutometer_uf", 0.30, "mm"),
    ("cutometer_ue", 0.20, "mm"),
    ("cutometer_uv", 0.10, "mm"),
    ("cutometer_ur", 0.15, "mm"),
    ("cutometer_ua", 0.24, "mm"),
]


def _value(out: pd.DataFrame, endpoint: str) -> pd.Series:
    return out.set_index("endpoint").loc[endpoint]


def test_settings_and_aperture_parsing() -> None:
    assert parse_device_settings("probe=2mm; Suction = 450mbar;flag") == {
        "probe": "2mm",
        "suction": "450mbar",
        "flag": "",
    }
    assert parse_device_settings(None) == {} and parse_device_settings(np.nan) == {}
    assert probe_aperture("probe=2mm") == "2 mm" == probe_aperture("aperture=2.0 mm")
    assert probe_aperture("probe_mm=8") == "8 mm"
    assert probe_aperture("suction=450mbar") is None
    assert probe_aperture("probe=large") == "large"


def test_r_parameters_from_amplitudes() -> None:
    out = prepare_measurements(_rows(AMPS))
    assert list(out.columns) == list(VALUE_COLUMNS)
    expected = {
        "cutometer_r0": 0.30,
        "cutometer_r2": 0.24 / 0.30,
        "cutometer_r5": 0.15 / 0.20,
        "cutometer_r6": 0.10 / 0.20,
        "cutometer_r7": 0.15 / 0.30,
        "cutometer_r8": 0.24,
    }
    for endpoint, value in expected.items():
        row = _value(out, endpoint)
        assert row.value == pytest.approx(value, rel=1e-12), endpoint
        assert row.derivation.endswith("from amplitudes") and row.reason == ""
    assert _value(out, "cutometer_r2").value == pytest.approx(0.8)
    assert _value(out, "cutometer_r2").source_rows == "5;1"  # Ua row 5, Uf row 1
    assert _value(out, "cutometer_r2").unit == "ratio" and _value(out, "cutometer_r0").unit == "mm"


def test_reported_value_kept_empty_one_filled() -> None:
    out = prepare_measurements(
        _rows([*AMPS, ("cutometer_r2", 0.81, "ratio"), ("cutometer_r5", None, "ratio")])
    )
    r2, r5 = _value(out, "cutometer_r2"), _value(out, "cutometer_r5")
    assert r2.value == 0.81 and r2.derivation == "" and r2.source_rows == "6"
    assert r5.value == pytest.approx(0.75) and r5.source_rows == "7;4;2"
    assert (out["endpoint"] == "cutometer_r5").sum() == 1


def test_zero_denominator_and_missing_amplitude() -> None:
    amps = [a if a[0] != "cutometer_ue" else ("cutometer_ue", 0.0, "mm") for a in AMPS]
    amps = [a if a[0] != "cutometer_ua" else ("cutometer_ua", None, "mm") for a in amps]
    out = prepare_measurements(_rows(amps))
    assert np.isnan(_value(out, "cutometer_r5").value)
    assert _value(out, "cutometer_r5").reason == "R5 = Ur/Ue undefined (zero denominator)"
    assert _value(out, "cutometer_r2").reason == "Ua missing"
    assert _value(out, "cutometer_ua").reason == "value missing"


def _curves() -> pd.DataFrame:
    uf = [0.40, 0.30, 0.32, 0.34]
    ua = [0.20, 0.24, 0.24, 0.255]
    specs = []
    for k in range(4):
        specs.append(("cutometer_uf", uf[k], "mm", "W0", 0, k + 1))
        specs.append(("cutometer_ua", ua[k], "mm", "W0", 0, k + 1))
    return _rows(specs)


def test_curves_two_to_four_average_per_curve_ratios() -> None:
    out = prepare_measurements(_curves(), cutometer_curves=(2, 3, 4))
    r2 = _value(out, "cutometer_r2")
    # per-curve R2: 0.24/0.30 = 0.8, 0.24/0.32 = 0.75, 0.255/0.34 = 0.75 -> mean 0.766667
    assert r2.value == pytest.approx((0.8 + 0.75 + 0.75) / 3, rel=1e-12)
    assert r2.n_replicates == 3 and r2.replicates == "2,3,4"
    assert _value(out, "cutometer_uf").value == pytest.approx((0.30 + 0.32 + 0.34) / 3)
    all4 = prepare_measurements(_curves())
    # all four curves: (0.5 + 0.8 + 0.75 + 0.75) / 4 = 0.7
    assert _value(all4, "cutometer_r2").value == pytest.approx(0.7, rel=1e-12)
    assert _value(all4, "cutometer_r2").replicates == "1,2,3,4"


def test_curves_need_a_replicate_column() -> None:
    with pytest.raises(EfficacyError, match="needs a replicate column"):
        prepare_measurements(_rows(AMPS), cutometer_curves=(2, 3, 4))


def test_mixed_apertures_refused() -> None:
    m = _rows(
        [
            ("cutometer_r2", 0.7, "ratio", "W0", 0),
            ("cutometer_r2", 0.75, "ratio", "W12", 84, None, "probe=8mm;suction=450mbar"),
            ("corneometer", 50, "a.u.", "W0", 0, None, "probe=8mm"),
        ]
    )
    with pytest.raises(ScoringError) as info:
        prepare_measurements(m)
    msg = str(info.value)
    assert (
        "cutometer_r2 mixes probe apertures 2 mm (1 readings; rows 1) and 8 mm (1 readings; rows 2)"
        in msg
    )
    assert "corneometer" not in msg and "FACTS.md 4.1" in msg


def test_unknown_aperture_not_counted_as_mixing() -> None:
    m = _rows(
        [
            ("cutometer_r2", 0.7, "ratio", "W0", 0),
            ("cutometer_r2", 0.75, "ratio", "W12", 84, None, "suction=450mbar"),
        ]
    )
    assert prepare_measurements(m)["value"].tolist() == [0.7, 0.75]


def test_duplicates_and_days() -> None:
    m = _rows(
        [
            ("corneometer", 50, "a.u."),
            ("corneometer", 52, "a.u."),
            ("tewl", 10, "g/m2/h", "W0", 0, 1),
            ("tewl", 11, "g/m2/h", "W0", 3, 2, None, "Tewameter"),
        ]
    )
    out = prepare_measurements(m)
    c, t = _value(out, "corneometer"), _value(out, "tewl")
    assert np.isnan(c.value) and c.reason.startswith(
        "2 readings (rows 1, 2) share this subject, visit, endpoint and body site without "
        "distinct replicate numbers (INT-002)"
    )
    assert np.isnan(t.value) and t.reason.startswith("readings on days 0 and 3 (rows 3, 4)")


def test_units_normalised() -> None:
    m = _rows(
        [
            ("wrinkle_depth_max", 0.12, "mm"),
            ("wrinkle_ra", 20, "µm", "W2", 14),
            ("wrinkle_rz", 1, "furlong"),
            ("wrinkle_volume", 2, "um"),
        ]
    )
    out = prepare_measurements(m)
    assert _value(out, "wrinkle_depth_max").value == pytest.approx(120.0)  # 0.12 mm = 120 um
    assert _value(out, "wrinkle_depth_max").unit == "um"
    assert _value(out, "wrinkle_ra").value == 20.0
    assert _value(out, "wrinkle_rz").reason == "unit 'furlong' is not a known unit"
    assert _value(out, "wrinkle_volume").reason == "unit 'um' cannot be converted to mm3"


def test_visia_never_wrinkle_depth_but_supportive() -> None:
    m = _rows(
        [("wrinkle_depth_max", 60.0, "um", "W0", 0, None, "mode=standard", "Canfield VISIA-CR")]
    )
    with pytest.raises(
        ScoringError,
        match=r"rows 1: 1 wrinkle-depth readings \(wrinkle_depth_max\) "
        r"come from 2D complexion imaging \(Canfield VISIA-CR\)",
    ):
        prepare_measurements(m)
    ok = _rows(
        [
            ("visia_wrinkles_percentile", 40.0, "percentile", "W0", 0, None, "x", "VISIA-CR"),
            ("visia_wrinkles_score", 3.0, "mm", "W0", 0, None, "x", "VISIA-CR"),
        ]
    )
    out = prepare_measurements(ok)
    assert out["modality"].tolist() == ["supportive_2d", "supportive_2d"]
    assert _value(out, "visia_wrinkles_percentile").direction == "higher"
    assert _value(out, "visia_wrinkles_score").reason == ("unit 'mm' cannot be converted to score")
    unknown = prepare_measurements(_rows([("dlqi_total", 3.0, "points")]))
    assert unknown.iloc[0].reason == "endpoint 'dlqi_total' is not in the catalogue"


def test_input_not_modified() -> None:
    m = _curves()
    before = m.copy(deep=True)
    prepare_measurements(m, cutometer_curves=(2, 3, 4))
    pd.testing.assert_frame_equal(m, before)
