"""Property: validation never raises on data and no rule crashes, whatever the cells hold."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efficacy.trial import TABLE_SCHEMAS, Arm, Visit
from efficacy.validation import validate
from tests.validation.trial_factory import DTYPES, clean_tables, make_manifest, make_trial

TEXTS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            " ",
            "S01",
            "S99",
            "W0",
            "W12",
            "W6",
            "ACTIVE",
            "VEHICLE",
            "mm",
            "um",
            "µm",
            "furlong",
            "a.u.",
            "corneometer",
            "cutometer_r2",
            "skindex16",
            "faceq",
            "dlqi",
            "left_cheek=ACTIVE",
            "x=;=y;;",
            "completed",
            "screen_failure",
            "[red]x[/]",
            "é☃",
        ]
    ),
    st.text(max_size=6),
)
NUMBERS = st.one_of(
    st.none(),
    st.sampled_from([0.0, -1.0, 1e300, -0.0, 7.0, 2.5, 142.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)
INTS = st.one_of(st.none(), st.integers(min_value=-(2**40), max_value=2**40))
FLAGS = st.one_of(st.none(), st.booleans())


def value_for(kind: str) -> st.SearchStrategy:
    return {"str": TEXTS, "fitzpatrick": TEXTS, "float": NUMBERS, "int": INTS, "bool": FLAGS}.get(
        kind, st.none()
    )


@st.composite
def edits(draw: st.DrawFn) -> list[tuple[str, int, str, object]]:
    out = []
    for _ in range(draw(st.integers(1, 12))):
        table = draw(st.sampled_from(list(TABLE_SCHEMAS)))
        column = draw(st.sampled_from(TABLE_SCHEMAS[table]))
        out.append((table, draw(st.integers(0, 400)), column.name, draw(value_for(column.kind))))
    return out


MANIFESTS = st.fixed_dictionaries(
    {
        "design": st.sampled_from(["parallel", "split_face", "crossover", ""]),
        "baseline_visit": st.sampled_from(["W0", "W12", "", "W99"]),
        "arms": st.sampled_from(
            [(), (Arm("ACTIVE", "a", False),), (Arm("", "", True), Arm("", "", True))]
            + [(Arm("ACTIVE", "a", False), Arm("VEHICLE", "v", True))] * 3
        ),
        "visits": st.sampled_from(
            [
                (),
                (Visit("W0", 0, 0, 0),),
                (Visit("W0", math.nan, 0, 0), Visit("W12", 12, 84, -1)),  # type: ignore[arg-type]
            ]
            + [(Visit("W0", 0, 0, 0), Visit("W4", 4, 28, 3), Visit("W12", 12, 84, 7))] * 3
        ),
        "consort": st.sampled_from(
            [{}, {"flow": {"randomised": "many", "excluded": -1, "allocated": 3}}, {"flow": {}}]
        ),
    }
)


def apply(tables: dict[str, pd.DataFrame], changes) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in tables.items():
        frame = frame.copy()
        for table, i, column, value in changes:
            if table != name or len(frame) == 0:
                continue
            label = frame.index[i % len(frame)]
            kind = next(c.kind for c in TABLE_SCHEMAS[name] if c.name == column)
            if kind == "int" and value is not None:
                value = int(value)
            frame[column] = frame[column].astype(object)
            frame.loc[label, column] = value
            frame[column] = pd.array(frame[column].tolist(), dtype=DTYPES[kind])
        out[name] = frame
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=edits(),
    manifest=MANIFESTS,
    design=st.sampled_from(["parallel", "split_face"]),
    missing=st.lists(
        st.sampled_from(["day", "unit", "body_site", "device", "endpoint", "value"]), max_size=2
    ),
    absent=st.lists(st.sampled_from(list(TABLE_SCHEMAS)), max_size=2),
)
def test_validate_never_raises_and_no_rule_crashes(changes, manifest, design, missing, absent):
    tables = apply(clean_tables(design), changes)
    before = {n: f.copy(deep=True) for n, f in tables.items()}
    trial = make_trial(
        tables,
        manifest=make_manifest(**manifest),
        missing={"measurements": missing},
        absent=absent,
    )
    report = validate(trial)
    crashed = {r: s.reason for r, s in report.rules.items() if "crashed" in s.reason}
    assert not crashed
    frame = report.to_frame()
    assert frame["row"].dropna().map(lambda r: isinstance(r, int | np.integer)).all()
    assert set(frame["severity"]) <= {"error", "warning", "notice"}
    report.to_dict()
    report.summary()
    for name in ("subjects", "measurements"):  # inputs never modified
        if name not in absent:
            pd.testing.assert_frame_equal(tables[name], before[name])
