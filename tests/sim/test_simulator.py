"""The seeded simulator: determinism, realism, structure, and the bundle writer."""

from __future__ import annotations

import hashlib
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from efficacy.errors import EfficacyError
from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.sim import simulate_parallel, simulate_split_face, write_bundle
from efficacy.sim._toml import dumps
from efficacy.trial import OPTIONAL_TABLES, TABLE_SCHEMAS


@pytest.fixture(scope="module")
def par():
    return simulate_parallel(11, 120)


@pytest.fixture(scope="module")
def split():
    return simulate_split_face(12, 40)


@pytest.fixture(scope="module")
def large():
    """2000 subjects, no dropout: simulated once for the three effect recovery tests."""
    return simulate_parallel(99, 2000, dropout_rate=0.0)


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


# -- determinism ------------------------------------------------------------------------
def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    a = write_bundle(simulate_parallel(5, 40), tmp_path / "a")
    b = write_bundle(simulate_parallel(5, 40), tmp_path / "b")
    c = write_bundle(simulate_parallel(6, 40), tmp_path / "c")
    assert _digest(a) == _digest(b)
    assert _digest(a)["measurements.csv"] != _digest(c)["measurements.csv"]
    assert sorted(_digest(a)) == [
        "adverse_events.csv",
        "deviations.csv",
        "faceq_conversion_SYNTHETIC.csv",
        "measurements.csv",
        "pro_responses.csv",
        "subjects.csv",
        "trial.toml",
    ]


def test_parquet_is_deterministic(tmp_path):
    a = write_bundle(simulate_split_face(3, 8), tmp_path / "a", "parquet")
    b = write_bundle(simulate_split_face(3, 8), tmp_path / "b", "parquet")
    assert _digest(a) == _digest(b)


def test_simulation_does_not_depend_on_global_numpy_state(par):
    np.random.seed(0)
    again = simulate_parallel(11, 120)
    for name, frame in par.tables.items():
        pd.testing.assert_frame_equal(frame, again.tables[name])


# -- columns and manifest ----------------------------------------------------------------
@pytest.mark.parametrize("design", ["parallel", "split_face"])
def test_tables_have_schema_columns(par, split, design):
    bundle = par if design == "parallel" else split
    # every schema column of every table, the optional deviations table included; only
    # the intercurrent_events table is not simulated
    assert sorted(bundle.tables) == sorted(set(TABLE_SCHEMAS) - {"intercurrent_events"})
    assert set(OPTIONAL_TABLES) - set(bundle.tables) == {"intercurrent_events"}
    for name, table in bundle.tables.items():
        expected = [c.name for c in TABLE_SCHEMAS[name]]
        if name == "subjects":
            expected.remove("allocation" if design == "parallel" else "arm")
        assert list(table.columns) == expected, name


def test_manifest_flow_counts_equal_data(par):
    s = par.tables["subjects"]
    flow = par.manifest["consort"]["flow"]
    assert flow == {"assessed_for_eligibility": 150, "excluded": 30, "randomised": 120}
    assert len(s) == 150
    assert int(s["randomized"].sum()) == 120
    assert (s.loc[~s["randomized"], "disposition"] == "screen_failure").all()
    assert (s.loc[~s["randomized"], "discontinuation_reason"] != "").all()
    # 1:1 in permuted blocks of 4: exactly 60 per arm.
    assert s.loc[s["randomized"], "arm"].value_counts().to_dict() == {
        "ACTIVE": 60,
        "VEHICLE": 60,
    }


def test_populations_nested_and_dropouts_have_reasons(par):
    s = par.tables["subjects"]
    r = s[s["randomized"]]
    assert r["itt"].all() and r["safety"].all()
    assert not s.loc[~s["randomized"], ["itt", "per_protocol", "safety"]].any().any()
    assert (r["itt"] | ~r["per_protocol"]).all()  # per_protocol implies itt
    left = r[r["disposition"].isin(["discontinued", "lost_to_follow_up"])]
    assert len(left) > 0 and (left["discontinuation_reason"] != "").all()
    assert not left["per_protocol"].any()


# -- visits ------------------------------------------------------------------------------
def test_visit_days_inside_windows_and_monotone_missing(par):
    m = par.tables["measurements"]
    visits = {v["id"]: v for v in par.manifest["visits"]}
    target = m["visit"].map(lambda v: visits[v]["day"])
    window = m["visit"].map(lambda v: visits[v]["window_days"])
    assert ((m["day"] - target).abs() <= window).all()
    assert (m.loc[m["visit"] == "W0", "day"] == 0).all()
    # jitter exists (not every day on target)
    assert ((m["day"] - target) != 0).mean() > 0.3
    order = {v: i for i, v in enumerate(visits)}
    seen = m.groupby("subject_id")["visit"].agg(lambda s: sorted({order[v] for v in s}))
    assert all(v == list(range(len(v))) for v in seen)  # a prefix of the schedule
    s = par.tables["subjects"].set_index("subject_id")
    n_visits = seen.map(len)
    completed = s.loc[n_visits.index, "disposition"] == "completed"
    assert (n_visits[completed] == 5).all() and (n_visits[~completed] < 5).all()


# -- instruments -------------------------------------------------------------------------
def _wide(bundle):
    m = bundle.tables["measurements"]
    m = m[m["endpoint"].str.startswith("cutometer")]
    return m.pivot_table(
        index=["subject_id", "visit", "body_site"], columns="endpoint", values="value"
    )


@pytest.mark.parametrize("which", ["par", "split"])
def test_cutometer_r_parameters_derive_from_amplitudes(which, request):
    w = _wide(request.getfixturevalue(which))
    # FACTS.md 4.1: Uf = Ue + Uv; R0 = Uf, R2 = Ua/Uf, R5 = Ur/Ue, R6 = Uv/Ue, R7 = Ur/Uf,
    # R8 = Ua. Amplitudes are rounded to 1e-4 mm and ratios to 1e-4, so the ratio error
    # is below 1e-4 / 0.1 (smallest amplitude) + 5e-5 = 1.05e-3 relative.
    np.testing.assert_allclose(w.cutometer_uf, w.cutometer_ue + w.cutometer_uv, atol=1e-12)
    np.testing.assert_array_equal(w.cutometer_r0, w.cutometer_uf)
    np.testing.assert_array_equal(w.cutometer_r8, w.cutometer_ua)
    for r, num, den in [
        ("r2", "ua", "uf"),
        ("r5", "ur", "ue"),
        ("r6", "uv", "ue"),
        ("r7", "ur", "uf"),
    ]:
        ratio = w[f"cutometer_{num}"] / w[f"cutometer_{den}"]
        np.testing.assert_allclose(w[f"cutometer_{r}"], ratio, rtol=1.1e-3)
    assert (w.cutometer_ua <= w.cutometer_uf).all() and (w.cutometer_ur <= w.cutometer_ua).all()


@pytest.mark.parametrize("which", ["par", "split"])
def test_baseline_inside_facial_normative_bands(which, request):
    m = request.getfixturevalue(which).tables["measurements"]
    base = m[m["visit"] == "W0"]
    checked = 0
    for endpoint, values in base.groupby("endpoint")["value"]:
        band = ENDPOINTS[endpoint].normative
        if band is not None:
            assert values.between(*band).all(), (endpoint, values.min(), values.max())
            checked += 1
    assert checked == 6  # r0, r2, r5, r7, r8, wrinkle_depth_max


@pytest.mark.parametrize("which", ["par", "split"])
def test_values_inside_plausible_ranges_units_devices(which, request):
    m = request.getfixturevalue(which).tables["measurements"]
    lo = m["endpoint"].map(lambda e: ENDPOINTS[e].plausible[0])
    hi = m["endpoint"].map(lambda e: ENDPOINTS[e].plausible[1])
    assert m["value"].between(lo, hi).all()
    assert (m["unit"] == m["endpoint"].map(lambda e: ENDPOINTS[e].unit)).all()
    assert m["temperature_c"].between(20.0, 22.0).all()
    assert m["humidity_pct"].between(40.0, 60.0).all()
    assert (m["device"] != "").all() and (m["device_settings"] != "").all()
    cut = m.loc[m["endpoint"] == "cutometer_r2", ["device", "device_settings"]].iloc[0]
    assert cut.tolist() == [
        "Cutometer dual MPA 580",
        "probe=2mm;suction=450mbar;on=2s;off=2s;repetitions=3",
    ]
    assert not m.duplicated(["subject_id", "visit", "endpoint", "body_site"]).any()


def _change_by_arm(bundle, endpoint):
    m = bundle.tables["measurements"]
    m = m[m["endpoint"] == endpoint].set_index(["subject_id", "visit"])["value"].unstack()
    change = (m["W12"] - m["W0"]).dropna()
    arm = bundle.tables["subjects"].set_index("subject_id")["arm"]
    return change.groupby(arm.loc[change.index]).agg(["mean", "sem"])


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        # Week-12 effect (active minus vehicle change from baseline) =
        #   delta * (1 - vehicle_share) * E[exp(N(0, 0.3^2))], E = exp(0.045) = 1.04603.
        ("corneometer", 14.0 * 0.65 * 1.04603),  # additive, a.u.
        ("cutometer_r2", 0.05 * 0.85 * 1.04603),
        ("cutometer_r5", 0.06 * 0.85 * 1.04603),
    ],
)
def test_treatment_effect_recovered(large, endpoint, expected):
    stats = _change_by_arm(large, endpoint)  # simulate_parallel(99, 2000, dropout_rate=0.0)
    diff = stats.loc["ACTIVE", "mean"] - stats.loc["VEHICLE", "mean"]
    se = math.hypot(stats.loc["ACTIVE", "sem"], stats.loc["VEHICLE", "sem"])
    # 4 standard errors; baseline band clipping shifts R2/R5 changes by < 0.002.
    assert abs(diff - expected) < 4 * se + 0.002, (diff, expected, se)
    assert expected / se > 8  # the test has power: a sign error would fail it


def test_null_effect_gives_no_difference():
    bundle = simulate_parallel(99, 2000, dropout_rate=0.0, effect_size=0.0)
    stats = _change_by_arm(bundle, "corneometer")
    diff = stats.loc["ACTIVE", "mean"] - stats.loc["VEHICLE", "mean"]
    se = math.hypot(stats.loc["ACTIVE", "sem"], stats.loc["VEHICLE", "sem"])
    assert abs(diff) < 4 * se


def test_repeated_measures_correlate(par):
    m = par.tables["measurements"]
    tewl = m[m["endpoint"] == "tewl"].set_index(["subject_id", "visit"])["value"].unstack()
    # log-normal person sd 0.22 vs visit sd 0.10: corr(W0, W2) ~ 0.22^2/(0.22^2+0.1^2)=0.83
    r = np.corrcoef(np.log(tewl["W0"]), np.log(tewl["W2"]))[0, 1]
    assert 0.65 < r < 0.95


# -- PROs ---------------------------------------------------------------------------------
def test_pro_structure(par):
    p = par.tables["pro_responses"]
    sk = p[p["instrument"] == "skindex16"]
    per_visit = sk.groupby(["subject_id", "visit"])["item"].agg(list)
    assert all(items == list(range(1, 17)) for items in per_visit)
    assert sk["response"].dropna().between(0, 6).all()
    scales = sk.groupby("scale")["item"].agg(lambda s: sorted(set(s)))
    assert scales.to_dict() == {
        "symptoms": [1, 2, 3, 4],
        "emotions": [5, 6, 7, 8, 9, 10, 11],
        "functioning": [12, 13, 14, 15, 16],
    }
    fq = p[p["instrument"] == "faceq"]
    assert fq["response"].dropna().between(1, 4).all()
    assert fq.groupby("scale")["item"].nunique().to_dict() == {
        "psychological_function": 10,
        "satisfaction_facial_appearance": 10,
    }
    assert set(p["visit"]) == {"W0", "W4", "W12"}
    missing = p["response"].isna()
    assert 0 < missing.sum() < 0.01 * len(p)  # a few unanswered items
    share = missing.groupby([p["subject_id"], p["visit"], p["scale"]]).mean()
    assert share.max() <= 0.5


# -- adverse events ------------------------------------------------------------------------
def test_adverse_events(par):
    ae = par.tables["adverse_events"]
    s = par.tables["subjects"].set_index("subject_id")
    assert s.loc[ae["subject_id"], "randomized"].all()
    assert set(ae["severity"]) <= {"mild", "moderate", "severe"}
    assert (ae["onset_day"] >= 1).all()
    last = par.tables["measurements"].groupby("subject_id")["day"].max()
    assert (ae["onset_day"].to_numpy() <= last.loc[ae["subject_id"]].to_numpy()).all()
    dermatitis = s.index[s["discontinuation_reason"] == "adverse event: contact dermatitis"]
    assert set(dermatitis) <= set(ae.loc[ae["term"] == "contact dermatitis", "subject_id"])


# -- split-face ----------------------------------------------------------------------------
def test_split_face_allocation_and_sites(split):
    s = split.tables["subjects"]
    r = s[s["randomized"]]
    assert "arm" not in s.columns
    assert set(r["allocation"]) == {
        "left_cheek=ACTIVE;right_cheek=VEHICLE",
        "left_cheek=VEHICLE;right_cheek=ACTIVE",
    }
    assert r["allocation"].value_counts().tolist() == [20, 20]
    m = split.tables["measurements"]
    sites = m.groupby(["subject_id", "visit", "endpoint"])["body_site"].agg(sorted)
    assert all(v == ["left_cheek", "right_cheek"] for v in sites)


def test_split_face_site_level_effect():
    bundle = simulate_split_face(21, 600, dropout_rate=0.0)
    m = bundle.tables["measurements"]
    m = m[m["endpoint"] == "corneometer"]
    alloc = bundle.tables["subjects"].set_index("subject_id")["allocation"]
    active_left = alloc.str.startswith("left_cheek=ACTIVE")
    is_active = np.where(m["body_site"] == "left_cheek", 1, 0) == active_left.loc[
        m["subject_id"]
    ].to_numpy().astype(int)
    w = m.assign(active=is_active).pivot_table(
        index="subject_id", columns=["visit", "active"], values="value"
    )
    within = (w[("W12", True)] - w[("W0", True)]) - (w[("W12", False)] - w[("W0", False)])
    expected = 14.0 * 0.65 * 1.04603  # as in the parallel design, per site
    assert abs(within.mean() - expected) < 4 * within.sem()
    # the two cheeks of a person correlate at baseline (shared person effect, sd 8 vs 2+4)
    base = m[m["visit"] == "W0"].pivot(index="subject_id", columns="body_site", values="value")
    assert np.corrcoef(base["left_cheek"], base["right_cheek"])[0, 1] > 0.6


# -- writer ---------------------------------------------------------------------------------
def test_write_bundle_atomic_and_refuses_foreign_folder(tmp_path, par):
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(EfficacyError, match="refusing"):
        write_bundle(par, foreign)
    assert (foreign / "keep.txt").read_text() == "mine"
    out = write_bundle(par, tmp_path / "b", extra_files={"README.md": "x\n"})
    write_bundle(par, out)  # replacing an existing bundle works, README from before gone
    assert not (out / "README.md").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "notes"]  # no temp left
    with pytest.raises(EfficacyError, match="format"):
        write_bundle(par, tmp_path / "c", format="json")  # type: ignore[arg-type]
    manifest = tomllib.loads((out / "trial.toml").read_text())
    assert manifest["tables"]["measurements"] == "measurements.csv"


def test_write_bundle_never_writes_outside(tmp_path, par):
    bundle = par.copy()
    bundle.manifest["tables"] = {"measurements": "../escape.csv"}
    out = write_bundle(bundle, tmp_path / "b")
    assert not (tmp_path / "escape.csv").exists()
    assert (out / "measurements.csv").exists()
    assert tomllib.loads((out / "trial.toml").read_text())["tables"]["measurements"] == (
        "../escape.csv"
    )


def test_simulate_rejects_bad_arguments():
    with pytest.raises(EfficacyError) as err:
        simulate_parallel(-1, 2, dropout_rate=1.5, wrinkle_device="VISIA")
    msg = str(err.value)
    for word in ("seed=-1", "n=2", "dropout_rate=1.5", "wrinkle_device='VISIA'"):
        assert word in msg


def test_toml_writer_round_trips():
    doc = {
        "a": 'quote " and \\ and \n newline and ünïcode',
        "n": 3,
        "x": 0.1,
        "flag": True,
        "lst": [1, 2],
        "t": {"k": "v", "sub": {"z": -1.5}},
        "arr": [{"id": "A"}, {"id": "B"}],
        "weird key": 1,
    }
    assert tomllib.loads(dumps(doc)) == doc


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_formats_read_back_equal_to_csv(tmp_path, fmt):
    from efficacy.io import read_trial

    bundle = simulate_split_face(8, 8)
    csv = read_trial(write_bundle(bundle, tmp_path / "csv"))
    other = read_trial(write_bundle(bundle, tmp_path / fmt, fmt))
    assert other.sources["measurements"].format == fmt
    for name in TABLE_SCHEMAS:
        pd.testing.assert_frame_equal(csv.table(name), other.table(name), check_dtype=False)
    assert csv.issues.empty and other.issues.empty


def test_module_main_reports_unusable_outdir(tmp_path, capsys):
    from efficacy.sim.__main__ import main

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main([str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("efficacy.sim: ") and err.count("\n") == 1
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("values", "codes"),
    [
        (["W0", "W2", "W12"], [2, 0, 1, 1, 2]),
        (np.asarray(["S0001", "S0002"], dtype=object), [1, 1, 0]),
        (["left_cheek"], []),
        (["a,b", 'q"uote', "=1+1", ""], [3, 2, 1, 0]),
    ],
)
def test_text_column_is_the_column_pandas_infers(values, codes):
    from efficacy.sim._columns import text_column

    codes = np.asarray(codes, dtype=np.intp)
    got = pd.DataFrame({"c": text_column(values, codes)})["c"]
    want = pd.DataFrame({"c": np.asarray(values, dtype=object)[codes]})["c"]
    pd.testing.assert_series_equal(got, want)
    assert got.dtype == want.dtype
    if hasattr(want.array, "_pa_array"):  # Arrow-backed text: the same Arrow type
        assert got.array._pa_array.type == want.array._pa_array.type


def test_csv_flags_are_the_per_cell_map():
    from efficacy.sim.bundle import _csv_frame

    frame = pd.DataFrame(
        {
            "flag": [True, False, True],
            "nullable": pd.array([True, None, False], dtype="boolean"),
            "n": [1, 2, 3],
            "text": ["x", "true", "y"],
        }
    )
    for part in (frame, frame.iloc[:0]):
        want = part.copy()
        for col in ("flag", "nullable"):
            want[col] = part[col].map({True: "true", False: "false"})
        pd.testing.assert_frame_equal(_csv_frame(part), want)
    assert _csv_frame(frame)["flag"].tolist() == ["true", "false", "true"]
    assert frame["flag"].dtype == bool  # the input is not modified
