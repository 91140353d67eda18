from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType

import pytest

from efficacy.errors import ProtocolError
from efficacy.protocol import (
    DEFAULT_PROTOCOL,
    Protocol,
    Requirement,
    list_protocols,
    load_protocol,
)

ISO_IDS = ("ISO-DUR", "ISO-ELAST", "ISO-HYD", "ISO-WRINKLE", "ISO-FACEQ", "ISO-SKINDEX", "ISO-RCT")


def write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_standard_has_the_contract_requirements() -> None:
    p = load_protocol(DEFAULT_PROTOCOL)
    assert p.id == "iso-efficacy-2025"
    assert p.version == "1.0"
    assert p.requirement_ids == ISO_IDS
    assert "Xiao" in p.source
    dur = p.requirement("ISO-DUR")
    assert dur.parameters["min_weeks"] == 12
    assert dur.check == "duration"
    assert dur.severity == "error"
    wr = p.requirement("ISO-WRINKLE").parameters
    assert wr["modality"] == "wrinkle_depth"
    assert set(wr["endpoints"]) == {
        "wrinkle_ra",
        "wrinkle_rz",
        "wrinkle_depth_max",
        "wrinkle_volume",
    }
    assert wr["exclude_devices"] == ("VISIA",)
    assert p.requirement("ISO-SKINDEX").parameters["instrument"] == "skindex16"
    assert p.parameters["pro_min_answered_fraction"] == 0.5
    assert p.parameters["temperature_c"] == (18.0, 26.0)
    for r in p.requirements:
        assert r.title and r.text and r.source


def test_list_protocols_and_to_dict() -> None:
    protocols = list_protocols()
    assert [p.id for p in protocols] == [
        "cn-nmpa-2021",
        "eu-655-2013",
        "iso-efficacy-2025",
        "kr-mfds",
        "us-fda",
    ]
    d = protocols[2].to_dict()
    assert d["requirements"][0]["parameters"]["min_weeks"] == 12
    assert d["parameters"]["humidity_pct"] == [30.0, 70.0]


def test_load_protocol_returns_protocol_unchanged() -> None:
    p = load_protocol("iso-efficacy-2025")
    assert load_protocol(p) is p


def test_unknown_id_lists_builtins() -> None:
    with pytest.raises(ProtocolError, match=r"iso-efficacy-2025"):
        load_protocol("iso-2099")


def test_protocol_is_frozen_and_parameters_read_only() -> None:
    p = load_protocol("iso-efficacy-2025")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.requirement("ISO-DUR").parameters["min_weeks"] = 1  # type: ignore[index]


def _mutable_parts(value: object, where: str) -> list[str]:
    """Where `value` holds something a caller could change (a shared object must not)."""
    if isinstance(value, str | bytes | int | float | bool | Path | type(None)):
        return []
    if isinstance(value, MappingProxyType):
        return [p for k, v in value.items() for p in _mutable_parts(v, f"{where}[{k!r}]")]
    if isinstance(value, tuple | frozenset):
        return [p for i, v in enumerate(value) for p in _mutable_parts(v, f"{where}[{i}]")]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return [where]
        fields = dataclasses.fields(value)
        return [p for f in fields for p in _mutable_parts(getattr(value, f.name), where)]
    return [f"{where}: {type(value).__name__}"]


@pytest.mark.parametrize("pid", sorted(p.id for p in list_protocols()))
def test_a_builtin_protocol_is_parsed_once_and_immutable_all_the_way_down(pid: str) -> None:
    shared = load_protocol(pid)
    assert load_protocol(pid) is shared  # one object for every caller...
    assert _mutable_parts(shared, pid) == []  # ...which none of them can change
    with pytest.raises(TypeError):
        shared.parameters["x"] = 1  # type: ignore[index]


def test_extension_tightens_min_weeks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'extends = "iso-efficacy-2025"\n'
        "[requirements.ISO-DUR.parameters]\nmin_weeks = 16\n"
        '[requirements.ISO-RCT]\nseverity = "warning"\n'
        "[validation]\npro_min_answered_fraction = 0.75\n",
    )
    p = load_protocol(path)
    assert p.requirement("ISO-DUR").parameters["min_weeks"] == 16
    # untouched parameters keep the base values
    assert p.requirement("ISO-DUR").parameters["observed_tolerance_days"] == 7
    assert p.requirement("ISO-RCT").severity == "warning"
    assert p.parameters["pro_min_answered_fraction"] == 0.75
    assert p.parameters["cutometer_rel_tol"] == 0.01
    assert p.id == "mine"
    assert p.extends == "iso-efficacy-2025@1.0"
    assert p.version == "1.0+mine"
    assert p.requirement_ids == ISO_IDS
    # the built-in is not changed by an extension
    assert load_protocol("iso-efficacy-2025").requirement("ISO-DUR").parameters["min_weeks"] == 12


def test_extension_adds_requirement_and_chains_by_path(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[protocol]\nextends = "iso-efficacy-2025"\nid = "base2"\nversion = "2"\n'
        'title = "t"\nsource = "s"\n'
        '[requirements.ACME-TEWL]\ntitle = "Barrier"\ntext = "TEWL at baseline and end."\n'
        'check = "instrumental"\nsource = "SOP"\n'
        '[requirements.ACME-TEWL.parameters]\nmodality = "barrier"\nendpoints = ["tewl"]\n',
        "base2.toml",
    )
    child = write(
        tmp_path, 'extends = "base2.toml"\n[requirements.ACME-TEWL]\nseverity = "notice"\n'
    )
    p = load_protocol(child)
    assert p.requirement_ids == (*ISO_IDS, "ACME-TEWL")
    tewl = p.requirement("ACME-TEWL")
    assert tewl.severity == "notice"
    assert tewl.parameters["endpoints"] == ("tewl",)
    assert tewl.parameters["require_device"] is True
    assert p.extends == "base2@2"


def test_unknown_keys_all_listed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'extends = "iso-efficacy-2025"\nauthor = "me"\n'
        "[requirements.ISO-DUR.parameters]\nmin_week = 16\n"
        '[requirements.ISO-HYD]\nseverty = "warning"\n'
        "[validation]\npro_min_answered = 0.9\n",
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    problems = info.value.problems
    # unknown keys at every level are reported together, in one error
    assert len(problems) == 4, problems
    for key in ("'author'", "'severty'", "'min_week'", "'pro_min_answered'"):
        assert sum(key in p for p in problems) == 1, key
    path.write_text(
        'extends = "iso-efficacy-2025"\n'
        "[requirements.ISO-DUR.parameters]\nmin_week = 16\n"
        "[requirements.ISO-ELAST.parameters]\nendpoints = ['corneometer']\n"
        "[validation]\npro_min_answered = 0.9\ntemperature_c = [30, 20]\n",
        encoding="utf-8",
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    msg = str(info.value)
    problems = info.value.problems
    assert len(problems) == 4, problems
    assert "min_week" in msg and "pro_min_answered" in msg
    assert "do not measure modality 'elasticity'" in msg
    assert "temperature_c" in msg
    assert str(path) in msg


def test_wrong_types_and_check_change(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'extends = "iso-efficacy-2025"\n'
        '[requirements.ISO-DUR]\ncheck = "pro"\n'
        '[requirements.ISO-HYD.parameters]\nrequire_device = "yes"\n'
        "[requirements.NEW-ONE]\ntitle = 'x'\ntext = 'y'\nsource = 'z'\n",
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    msg = str(info.value)
    assert "check cannot change" in msg
    assert "require_device" in msg and "true or false" in msg
    assert "check is required for a new requirement" in msg
    assert len(info.value.problems) == 3


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[protocol\n")
    with pytest.raises(ProtocolError, match="not valid TOML"):
        load_protocol(path)
    with pytest.raises(ProtocolError, match="neither a built-in"):
        load_protocol(tmp_path / "nope.toml")


def test_standalone_file_needs_metadata(tmp_path: Path) -> None:
    path = write(tmp_path, "[validation]\ncutometer_rel_tol = 0.02\n")
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    assert len(info.value.problems) == 4  # id, version, title, source


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(ProtocolError, match="cycle"):
        load_protocol(tmp_path / "a.toml")


def test_requirement_post_init_lists_every_problem() -> None:
    with pytest.raises(ProtocolError) as info:
        Requirement(
            id="bad id",
            title="",
            text="t",
            check="duration",
            parameters={"min_weeks": -1, "extra": 1},
            severity="fatal",
            source="",
        )
    problems = info.value.problems
    assert len(problems) == 6, problems
    assert problems[0].startswith("id 'bad id'")


def test_requirement_infers_check_for_standard_ids() -> None:
    r = Requirement("ISO-DUR", "t", "x", parameters={"min_weeks": 8}, source="s")
    assert r.check == "duration"
    assert r.parameters == {"min_weeks": 8, "check_observed": True, "observed_tolerance_days": 7}


def test_protocol_post_init_lists_every_problem() -> None:
    r = Requirement("ISO-DUR", "t", "x", parameters={"min_weeks": 8}, source="s")
    with pytest.raises(ProtocolError) as info:
        Protocol(
            id="",
            version="",
            title="t",
            source="s",
            requirements=(r, r),
            parameters={"nope": 1},
        )
    assert len(info.value.problems) == 4, info.value.problems


def test_scoring_section_read_checked_and_merged(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        'extends = "iso-efficacy-2025"\n'
        "[scoring]\nskindex16_overall = true\ncutometer_curves = [2, 3, 4]\n"
        "[[scoring.responders]]\n"
        'endpoint = "corneometer"\nkind = "absolute"\nthreshold = 5.0\n',
        "base.toml",
    )
    p = load_protocol(base)
    assert p.scoring["skindex16_overall"] is True
    assert p.scoring["cutometer_curves"] == (2, 3, 4)
    assert p.scoring["responders"][0]["threshold"] == 5.0
    assert load_protocol("iso-efficacy-2025").scoring == {}
    child = write(tmp_path, 'extends = "base.toml"\n[scoring]\nskindex16_overall = false\n')
    merged = load_protocol(child)
    assert merged.scoring["skindex16_overall"] is False
    assert merged.scoring["cutometer_curves"] == (2, 3, 4)
    assert merged.to_dict()["scoring"]["cutometer_curves"] == [2, 3, 4]
    # the scorer reads it (efficacy.instruments.ScoringOptions.from_protocol)
    from efficacy.instruments.options import ScoringOptions

    options = ScoringOptions.from_protocol(p)
    assert options.skindex16_overall is True
    assert options.cutometer_curves == (2, 3, 4)
    assert options.responders[0].endpoint == "corneometer"


def test_scoring_section_problems_all_listed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'extends = "iso-efficacy-2025"\n'
        "[scoring]\nskindex16_overal = true\ncutometer_curves = [0]\n"
        '[[scoring.responders]]\nendpoint = "corneometer"\nkind = "huge"\ncolour = 1\n',
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    problems = info.value.problems
    assert len(problems) == 4, problems
    assert any("'skindex16_overal' is unknown" in p for p in problems)
    assert any("cutometer_curves" in p for p in problems)
    assert any("unknown keys ['colour']" in p for p in problems)
    assert any("kind='huge'" in p for p in problems)
