"""`EndpointFit`'s rows and columns without frames equal its frames exactly.

The run reads an endpoint's comparisons with `EndpointFit.contrast_records` and its LS
means with `EndpointFit.lsmeans_columns` (no frame per fit); both must give what the
frames `contrasts` and `lsmeans` hold, value for value and type for type (``float``,
``int``, ``str``, as iterating the frames gives them).
"""

from __future__ import annotations

import pandas as pd
import pytest

from efficacy.analysis.data import model_data, split_by_endpoint
from efficacy.analysis.models import fit_endpoint
from efficacy.analysis.plan import resolve_plan


@pytest.mark.parametrize("name", ["parallel_12wk", "split_face_12wk"])
def test_records_and_columns_equal_the_frames(samples, name: str) -> None:
    trial, result = samples.trial(name), samples.analysis(name)
    plan = resolve_plan(trial, samples.protocol)
    assert result.scored is not None
    derived = split_by_endpoint(result.scored.endpoints)
    fit = fit_endpoint(model_data(trial, derived, plan.primary, "itt", plan), plan)
    frame = fit.contrasts
    want = [r._asdict() for r in frame.itertuples(index=False)]
    got = fit.contrast_records()
    assert got == want and len(got) == len(frame) > 0
    for g, w in zip(got, want, strict=True):
        assert [type(v) for v in g.values()] == [type(v) for v in w.values()]
    lsm = fit.lsmeans
    columns = fit.lsmeans_columns()
    assert list(columns) == list(lsm.columns)
    for c in lsm.columns:
        assert columns[c] == list(lsm[c])
        assert [type(v) for v in columns[c]] == [type(v) for v in lsm[c]]
    # the run's table holds the same values for this endpoint and population
    ours = result.lsmeans.loc[
        (result.lsmeans["endpoint"] == plan.primary) & (result.lsmeans["population"] == "itt")
    ].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours[list(lsm.columns)], lsm, check_exact=True)


def test_contrasts_only_fit_equals_the_full_fit(samples) -> None:
    # the subgroup refits ask for contrasts only: the same contrasts, no LS means
    trial, result = samples.trial("parallel_12wk"), samples.analysis("parallel_12wk")
    plan = resolve_plan(trial, samples.protocol)
    assert result.scored is not None
    data = model_data(trial, split_by_endpoint(result.scored.endpoints), plan.primary, "itt", plan)
    full, only = fit_endpoint(data, plan), fit_endpoint(data, plan, lsmeans=False)
    assert only.contrast_records() == full.contrast_records() != []
    pd.testing.assert_frame_equal(only.contrasts, full.contrasts, check_exact=True)
    assert only.lsmeans.empty and only.lsmeans_columns() == {} and len(full.lsmeans) > 0
