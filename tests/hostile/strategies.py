"""Hypothesis strategies over the mutations of :mod:`tests.hostile.mutations`.

:func:`mutation_lists` (content mutations, then at most a few whole-file ones) drives the
read+validate and CLI properties; :data:`LIGHT` (cells, rows and analysis-targeted edits
that keep a bundle analysable more often) drives the slow analyze+report property.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.hostile.mutations import (
    _FILES,
    TABLES,
    ColumnOp,
    CorruptXlsx,
    Encode,
    FileGone,
    RowOp,
    SetCell,
    SwapFormat,
    TomlDeep,
    TomlEdit,
    TomlJunk,
    Truncate,
)

# -- strategies ----------------------------------------------------------------------
_fractions = st.floats(0, 1, allow_nan=False, exclude_max=True)
_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1e309", "-1e309", "NaN", "nan", "inf", "-inf", "Infinity", "-0", "9" * 400]),
    st.sampled_from(["0x1F", "1_000", "-5", "-1", "0", "1e-320", "3,5"]),
)
CELL_VALUES = st.one_of(
    _numbers,
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "true",
            "N",
            "VI",
            "2025-13-45",
            "W99",
            "µm",
            "é☃💥",
            '"',
            ",",
            "\n",
            "\r\n",
            "\x00",
            '=HYPERLINK("http://x","y")',
            "=1+1",
            "+cmd|' /C calc'!A0",
            "@SUM(1)",
            "-2+3",
            "x" * 5000,
            "S0001",
            "ACTIVE",
            "VEHICLE",
        ]
    ),
)
_toml_scalar = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["ACTIVE", "VEHICLE", "W0", "W12", "parallel", "split_face", ""]),
)
TOML_VALUES = st.recursive(
    _toml_scalar,
    lambda inner: st.one_of(
        st.lists(_toml_scalar, max_size=3),
        st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3),
        st.lists(
            st.dictionaries(st.sampled_from(["id", "label", "control", "week", "day"]), inner),
            min_size=1,
            max_size=3,
        ),
    ),
    max_leaves=6,
)
#: Key paths of ``trial.toml`` that TomlEdit targets (sections, scalars, array items).
KEY_PATHS: tuple[tuple[Any, ...], ...] = (
    ("trial",),
    ("trial", "id"),
    ("trial", "design"),
    ("trial", "baseline_visit"),
    ("trial", "baseline_day"),
    ("arms",),
    ("arms", 0),
    ("arms", 0, "id"),
    ("arms", 1, "id"),
    ("arms", 1, "control"),
    ("arms", 0, "control"),
    ("visits",),
    ("visits", 0),
    ("visits", 0, "week"),
    ("visits", 2, "day"),
    ("visits", 4, "window_days"),
    ("visits", 1, "id"),
    ("tables",),
    ("tables", "subjects"),
    ("tables", "measurements"),
    ("tables", "pro_responses"),
    ("tables", "faceq_conversion"),
    ("tables", "adverse_events"),
    ("consort",),
    ("consort", "flow"),
    ("consort", "flow", "randomised"),
    ("consort", "flow", "excluded"),
    ("consort", "flow", "assessed_for_eligibility"),
    ("consort", "registration_date"),
    ("unknown_section",),
    ("trial", "unknown_key"),
)
_tables = st.sampled_from(TABLES)

CELL = st.builds(SetCell, _tables, _fractions, _fractions, CELL_VALUES)
COLUMN = st.builds(
    ColumnOp,
    _tables,
    st.sampled_from(["drop", "duplicate", "rename", "empty_name", "upper", "swap"]),
    _fractions,
    st.one_of(st.text(max_size=12), st.sampled_from(["subject_id", "visit", "value", "arm"])),
)
ROW = st.builds(
    RowOp,
    _tables,
    st.sampled_from(["drop", "duplicate", "drop", "duplicate", "drop_header", "drop_all"]),
    _fractions,
    st.integers(1, 50),
)
TOML = st.one_of(
    st.builds(TomlEdit, st.sampled_from(KEY_PATHS), TOML_VALUES, st.booleans()),
    st.builds(TomlEdit, st.sampled_from(KEY_PATHS), TOML_VALUES, st.booleans()),
    st.builds(TomlDeep, st.sampled_from([2, 30, 200, 1000, 3000]), st.booleans()),
    st.builds(
        TomlJunk,
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                ["[trial]\nid = 'again'", "x = ", "[[arms]]\nid = 3", "[tables]\nsubjects = 1"]
            ),
        ),
    ),
)
#: Content mutations: cells, columns, rows, manifest keys and types.
CONTENT = st.one_of(CELL, CELL, COLUMN, ROW, TOML)
#: Whole-file mutations, applied after the content ones.
FILES = st.one_of(
    st.builds(
        Encode,
        st.sampled_from(_FILES),
        st.sampled_from(["utf-16", "utf-16-le", "latin-1", "utf8-bom-semicolon"]),
    ),
    st.builds(SwapFormat, _tables, st.sampled_from(["xlsx", "parquet"])),
    st.builds(Truncate, st.sampled_from(_FILES), _fractions),
    st.builds(CorruptXlsx, _tables, st.sampled_from(["xml", "deflate"])),
    st.builds(FileGone, _tables, st.sampled_from(["delete", "long_name"])),
)


def mutation_lists(max_content: int = 4, max_files: int = 2) -> st.SearchStrategy:
    """Lists of content mutations followed by at most `max_files` whole-file ones."""
    return (
        st.tuples(
            st.lists(CONTENT, min_size=0, max_size=max_content),
            st.lists(FILES, min_size=0, max_size=max_files),
        )
        .map(lambda t: [*t[0], *t[1]])
        .filter(bool)
    )


#: Mutations aimed at the analysis: FACE-Q inf / NaN, duplicate arm ids, wrong-typed
#: CONSORT counts, tiny trials (many subjects or measurements dropped).
ANALYSIS_TARGETED = st.one_of(
    st.builds(
        SetCell,
        st.just("faceq_conversion"),
        _fractions,
        st.sampled_from([0.5, 0.9]),  # raw_sum or rasch_score
        st.sampled_from(["inf", "-inf", "nan", "NaN", "1e309"]),
    ),
    st.builds(TomlEdit, st.sampled_from([("arms", 1, "id"), ("arms", 0, "id")]), st.just("ACTIVE")),
    st.builds(TomlEdit, st.just(("consort", "flow", "randomised")), TOML_VALUES),
    st.builds(RowOp, st.just("subjects"), st.just("drop"), _fractions, st.integers(1, 40)),
    st.builds(RowOp, st.just("measurements"), st.just("drop"), _fractions, st.integers(100, 5000)),
)
#: Mutations that keep a bundle analysable more often (for the slow analyze/report path).
LIGHT = st.lists(
    st.one_of(
        CELL,
        CELL,
        ROW,
        st.builds(SetCell, st.just("measurements"), _fractions, st.just(0.45), _numbers),
        ANALYSIS_TARGETED,
        ANALYSIS_TARGETED,
    ),
    min_size=1,
    max_size=3,
)
