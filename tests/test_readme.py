"""Every code block of README.md runs, so the README cannot drift from the code.

Python blocks (```python) run in README order in one namespace, as a reader's session
would; shell blocks (```bash, ```sh, ```console) run line by line, each ``efficacy ...``
command through the CLI's ``main`` in-process (``> file`` redirects stdout into the
file). TOML blocks must parse; a block preceded by ``<!-- file: NAME -->`` is written to
NAME first, so the commands that follow can use it. Everything runs once per session
(a module fixture) in a temporary folder that links ``sample_data``, ``protocols`` and
``tests`` of the checkout: outputs never land in the checkout, inputs are never changed.

Two kinds of lines are not run, each for the reason in ``NOT_RUN``: the ``pip install``
of the set-up commands, and the test-suite command itself. A command that appears twice
(the set-up report and the regulatory writers' report are the same command on the same
sample bundle) runs once: the same inputs give the same outputs, and the PDF is the
expensive part of this test.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from efficacy.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELL = ("bash", "sh", "console")

#: Lines of shell blocks that are not run, and why.
NOT_RUN = {
    "pip install": "installs a package into the interpreter running the tests; the tests "
    "run the checkout under test instead (.ci/run runs this line itself)",
    "python -m pytest": "the test suite itself, of which this test is a part",
}


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    lang: str
    text: str
    line: int  # 1-based line of the opening fence
    file: str | None  # from a preceding <!-- file: NAME --> marker


def readme_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order."""
    out: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        before = lines[start - 1] if start else ""
        marker = re.match(r"^<!--\s*file:\s*(\S+)\s*-->$", before.strip())
        out.append(
            Block(m.group(1), "\n".join(lines[start + 1 : j]), start + 1, marker and marker[1])
        )
        i = j + 1
    return out


@dataclass
class Command:
    """One shell command of the README and what running it gave."""

    line: str
    argv: tuple[str, ...]
    redirect: str | None
    code: int | None = None
    out: str = ""
    err: str = ""
    not_run: str | None = None


def shell_commands(block: Block) -> Iterator[Command]:
    """The commands of a shell block: one per line, ``&&`` split, comments dropped."""
    for raw in block.text.splitlines():
        line = raw.strip()
        if block.lang == "console":
            if not line.startswith("$ "):
                continue  # console output
            line = line[2:]
        words = shlex.split(line, comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            part, words = words[:cut], words[cut + 1 :]
            redirect = None
            if ">" in part:
                k = part.index(">")
                part, redirect = part[:k], part[k + 1]
            yield Command(line, tuple(part), redirect)


@dataclass
class Session:
    """Everything the README's blocks did, in README order."""

    cwd: Path
    blocks: list[Block]
    commands: list[Command] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)


def _run_cli(cmd: Command) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        cmd.code = main(list(cmd.argv[1:]))
    cmd.out, cmd.err = out.getvalue(), err.getvalue()
    if cmd.redirect:
        Path(cmd.redirect).write_text(cmd.out)


def _play(session: Session) -> None:
    done: dict[tuple[tuple[str, ...], str | None], Command] = {}
    for block in session.blocks:
        if block.file:
            Path(block.file).write_text(block.text + "\n")
        if block.lang == "python":
            code = compile(block.text, f"README.md:{block.line}", "exec")
            exec(code, session.namespace)
        elif block.lang in SHELL:
            for cmd in shell_commands(block):
                session.commands.append(cmd)
                text = " ".join(cmd.argv)
                reason = next((why for pre, why in NOT_RUN.items() if text.startswith(pre)), None)
                if reason:
                    cmd.not_run = reason
                    continue
                assert cmd.argv[0] == "efficacy", (
                    f"README.md:{block.line}: {text!r} is neither an efficacy command nor "
                    "listed in NOT_RUN; make it one or say why it is not run"
                )
                key = (cmd.argv, cmd.redirect)
                if key in done:
                    first = done[key]
                    cmd.code, cmd.out, cmd.err = first.code, first.out, first.err
                    continue
                _run_cli(cmd)
                done[key] = cmd


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    cwd = tmp_path_factory.mktemp("readme")
    for name in ("sample_data", "protocols", "tests"):
        (cwd / name).symlink_to(ROOT / name, target_is_directory=True)
    s = Session(cwd, readme_blocks(README.read_text(encoding="utf-8")))
    before = Path.cwd()
    os.chdir(cwd)
    try:
        _play(s)
        yield s
    finally:
        os.chdir(before)


def _cmd(session: Session, *prefix: str, exact: bool = False) -> Command:
    hits = [
        c
        for c in session.commands
        if (c.argv == prefix if exact else c.argv[: len(prefix)] == prefix)
    ]
    assert len(hits) == 1, f"README: expected one command {' '.join(prefix)}, got {len(hits)}"
    return hits[0]


# --------------------------------------------------------------------------- the checks


def test_block_parser_finds_languages_and_file_markers() -> None:
    text = "a\n<!-- file: x.toml -->\n```toml\nk = 1\n```\n\n```bash\nefficacy --version\n```\n"
    got = readme_blocks(text)
    assert [(b.lang, b.text, b.line, b.file) for b in got] == [
        ("toml", "k = 1", 3, "x.toml"),
        ("bash", "efficacy --version", 7, None),
    ]
    cmds = list(
        shell_commands(Block("bash", "pip install . && efficacy a b  # note\nx > v.json", 1, None))
    )
    assert [(c.argv, c.redirect) for c in cmds] == [
        (("pip", "install", "."), None),
        (("efficacy", "a", "b"), None),
        (("x",), "v.json"),
    ]


def _readme_blocks_are_all_known_languages(session: Session) -> None:
    langs = [b.lang for b in session.blocks]
    assert set(langs) <= {"python", "toml", "", *SHELL}, langs
    assert langs.count("python") >= 3 and sum(x in SHELL for x in langs) >= 5
    # an unlabelled block is prose layout, never code a reader would run
    for b in session.blocks:
        if b.lang == "":
            assert not re.search(r"^\s*(efficacy |import |>>>)", b.text, re.M), b.line


def _every_shell_command_runs(session: Session) -> None:
    assert len(session.commands) >= 10
    for cmd in session.commands:
        if cmd.not_run:
            continue
        what = f"README: {cmd.line!r}"
        assert cmd.code in (0, 1), f"{what} exited {cmd.code}: {cmd.err.strip()}"
        assert "error" not in cmd.err.lower(), f"{what}: {cmd.err.strip()}"
    skipped = sorted({" ".join(c.argv[:2]) for c in session.commands if c.not_run})
    assert skipped == ["pip install", "python -m"]


def _exit_codes_match_the_readme(session: Session) -> None:
    # clean sample: 0; flawed sample with --fail-on warning: 1 (findings)
    clean = _cmd(session, "efficacy", "validate", "sample_data/parallel_12wk", exact=True)
    assert clean.code == 0
    flawed = _cmd(session, "efficacy", "validate", "sample_data/flawed_integrity")
    assert flawed.code == 1 and "INT-" in flawed.out
    # the tightened protocol asks 16 weeks of a 12-week trial: ISO-DUR fails
    sop = [c for c in session.commands if "--protocol" in c.argv]
    assert len(sop) == 1 and sop[0].code == 1 and "ISO-DUR" in sop[0].out
    assert "acme-sop-7" in sop[0].out
    assert _cmd(session, "efficacy", "--version").out.startswith("efficacy ")
    shown = _cmd(session, "efficacy", "protocols", "show")
    assert "ISO-DUR" in shown.out and "iso-efficacy-2025" in shown.out


def _json_output_has_the_documented_keys(session: Session) -> None:
    data = json.loads((session.cwd / "v.json").read_text())
    assert {"ok", "findings", "rules"} <= set(data) and data["ok"] is True


def _report_command_writes_the_three_files(session: Session) -> None:
    reports = [c for c in session.commands if c.argv[:2] == ("efficacy", "report")]
    assert len(reports) == 2 and reports[0].argv == reports[1].argv  # run once, see above
    out = session.cwd / "out" / "parallel_12wk"
    for name in ("report.html", "report.pdf", "report.json"):
        assert (out / name).stat().st_size > 1000, name
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert '"SIM-PARALLEL-12W"' in (out / "report.json").read_text()  # the trial's id
    assert "SIM-PARALLEL-12W" in (out / "report.html").read_text()


def _python_blocks_do_what_their_comments_say(session: Session) -> None:
    ns = session.namespace
    assert ns["report"].ok is True and len(ns["report"].to_frame()) == len(ns["report"].findings)
    contrast = ns["fit"].contrast("ARMCD", by="AVISIT")
    assert contrast["contrast"].tolist() == ["TRT - PBO"] * 4  # the comment in the README
    assert (contrast["estimate"] > 0).all()
    frame = ns["result"].to_frame()
    named = "endpoint role population visit comparison estimate std_error df conf_low "
    named += "conf_high p_value p_adjusted effect_size"
    assert set(named.split()) <= set(frame.columns)
    assert {"formula", "converged"} <= set(ns["result"].models.columns)
    assert ns["trial"].manifest.id == "CDISCPILOT01" and len(ns["trial"].subjects) == 254


def _toml_blocks_parse_and_the_protocol_loads(session: Session) -> None:
    import efficacy

    tomls = [b for b in session.blocks if b.lang == "toml"]
    assert len(tomls) >= 2
    for b in tomls:
        tomllib.loads(b.text)
    protocol = efficacy.load_protocol(session.cwd / "my_sop.toml")
    assert (protocol.id, protocol.version) == ("acme-sop-7", "1.0")
    dur = next(r for r in protocol.requirements if r.id == "ISO-DUR")
    assert dur.parameters["min_weeks"] == 16


def _layout_names_the_real_folders(session: Session) -> None:
    layout = next(b for b in session.blocks if b.lang == "" and "efficacy/" in b.text)
    named = set(re.findall(r"^\s{2}(\w+)/", layout.text, re.M))
    package = ROOT / "efficacy"
    real = {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    # `cli/` is the command package (efficacy/cli.py until it moves there)
    missing = {n for n in named - real if not (package / f"{n}.py").exists()}
    assert not missing, f"README layout names folders that do not exist: {missing}"
    assert real <= named, f"README layout omits {real - named}"
    top = set(re.findall(r"^([\w.]+)/", layout.text, re.M))
    assert all((ROOT / t).is_dir() for t in top), top


def test_readme_blocks_run_and_do_what_they_say(session: Session) -> None:
    # one test over the one session, so that under pytest-xdist the README (and its PDF)
    # is played by a single worker; each check names what it found wrong
    _readme_blocks_are_all_known_languages(session)
    _every_shell_command_runs(session)
    _exit_codes_match_the_readme(session)
    _json_output_has_the_documented_keys(session)
    _report_command_writes_the_three_files(session)
    _python_blocks_do_what_their_comments_say(session)
    _toml_blocks_parse_and_the_protocol_loads(session)
    _layout_names_the_real_folders(session)


def test_trial_toml_example_reads_as_a_bundle(tmp_path: Path) -> None:
    # the README's trial.toml, beside the parallel sample's tables under the file names it
    # declares, reads without a manifest or table problem
    import efficacy

    block = next(
        b
        for b in readme_blocks(README.read_text(encoding="utf-8"))
        if b.lang == "toml" and "[trial]" in b.text
    )
    (tmp_path / "trial.toml").write_text(block.text + "\n")
    sample = ROOT / "sample_data" / "parallel_12wk"
    tables = tomllib.loads(block.text)["tables"]
    source = {"faceq_conversion": "faceq_conversion_SYNTHETIC.csv"}
    for key, name in tables.items():
        (tmp_path / name).write_bytes((sample / source.get(key, f"{key}.csv")).read_bytes())
    trial = efficacy.read_trial(tmp_path)
    assert trial.issues.empty, trial.issues.to_string()
    assert [a.id for a in trial.manifest.arms] == ["ACTIVE", "VEHICLE"]
    assert trial.manifest.consort["flow"]["randomised"] == 120
    assert len(trial.subjects) == 150


def test_tables_section_names_every_schema_column() -> None:
    # the README copies the table schemas by hand: every table and column of
    # efficacy.schema.TABLE_SCHEMAS must appear in its Tables section
    from efficacy.schema import TABLE_SCHEMAS

    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Tables") : text.index("### Endpoints")]
    words = set(re.findall(r"\w+", section))
    missing = [
        f"{table}.{c.name}"
        for table, columns in TABLE_SCHEMAS.items()
        for c in columns
        if table not in words or c.name not in words
    ]
    assert not missing, f"README Tables section lacks {missing}"
