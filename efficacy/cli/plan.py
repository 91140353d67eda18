"""The ``efficacy plan`` command: power and sample size of a planned trial by simulation.

``efficacy plan SCENARIO.toml [--protocol P] [--trials N] [--seed S] [--jobs N]
[--scheduler ADDR] [--target-power 0.9] --out DIR [--format text|json]``

Writes ``DIR/plan.html``, ``DIR/plan.json`` and ``DIR/power_curve.svg`` (inputs, power
table, family-wise power, power-vs-n curve, sample size with ``--target-power``, seed,
software versions) together, atomically (:class:`efficacy._atomic.FileSet`): an
interrupted run leaves the previous set. A progress bar shows on a terminal (stderr);
piped, the command is quiet. ``--scheduler tcp://HOST:8786`` runs the trials on an
existing Dask cluster (``pip install "efficacy[dask]"``; start ``dask scheduler`` on one
machine and ``dask worker tcp://HOST:8786`` on each machine with efficacy installed).

Exit codes: 0 done; 2 unusable input or usage, one line on standard error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from efficacy._atomic import FileSet, check_folder
from efficacy.cli._common import EXIT_OK, is_tty, print_table, print_written, relay_warnings
from efficacy.errors import UsageError

__all__ = ["HELP", "add_arguments", "run_plan"]

HELP = "power and sample size of a planned trial, simulating the protocol's analysis plan"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 1")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number between 0 and 1")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``plan`` arguments to `p`."""
    p.add_argument("scenario", metavar="SCENARIO.toml", help="planning scenario (TOML)")
    p.add_argument("--protocol", metavar="ID|FILE", default=None,
                   help="protocol whose [analysis] plan is simulated "
                        "(default: iso-efficacy-2025)")  # fmt: skip
    p.add_argument("--trials", type=_positive_int, default=1000, metavar="N",
                   help="simulated trials per sample size (default 1000)")  # fmt: skip
    p.add_argument("--seed", type=int, default=20261206, metavar="S",
                   help="root seed of the trials' streams (default 20261206)")  # fmt: skip
    p.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                   help="local worker processes (default 1)")  # fmt: skip
    p.add_argument("--scheduler", metavar="ADDR", default=None,
                   help="address of a Dask scheduler to run on (tcp://host:8786)")  # fmt: skip
    p.add_argument("--target-power", type=_probability, default=None, metavar="P",
                   help="also search the participants per arm for this power "
                        "(e.g. 0.9)")  # fmt: skip
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the report files")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="what to print: a summary (text) or the JSON document")  # fmt: skip


def run_plan(args: argparse.Namespace) -> int:
    """Run ``efficacy plan``; return the exit code."""
    from efficacy.plan.report import plan_trial

    if args.scheduler is not None and args.jobs != 1:
        raise UsageError(
            "--jobs is for local processes; with --scheduler the cluster's workers run"
        )
    out = check_folder(args.out)
    if not Path(args.scenario).is_file():
        raise UsageError(f"{args.scenario}: no such scenario file; give a TOML scenario")
    with relay_warnings(), _ProgressBar() as tick:
        report = plan_trial(
            args.scenario, args.protocol, n_trials=args.trials, seed=args.seed,
            n_jobs=args.jobs, scheduler=args.scheduler, target_power=args.target_power,
            progress=tick,
        )  # fmt: skip
    text = report.to_json()
    with FileSet() as files:
        files.add(out / "plan.html", report.to_html())
        files.add(out / "plan.json", text)
        files.add(out / "power_curve.svg", report.to_svg())
    if args.format == "json":
        sys.stdout.write(text)
        return EXIT_OK
    table = report.simulation.to_frame()
    print_table(
        ["endpoint", "population", "power", "mc_se", "bias", "coverage"],
        [
            [str(r.endpoint), str(r.population), f"{r.power:.3f}", f"{r.mc_se:.3f}",
             f"{r.bias:.4g}", f"{r.coverage:.3f}"]
            for r in table.itertuples()
        ],
    )  # fmt: skip
    if report.sample_size is not None:
        s = report.sample_size
        sys.stdout.write(
            f"sample size for power {s.target_power:g} ({s.criterion}): {s.n_per_arm} per arm "
            f"(simulated power {s.power:.3f}); analytic start {s.analytic_n_per_arm}\n"
        )
    print_written(files.targets)
    return EXIT_OK


Tick = Callable[[str, int, int], None]


class _ProgressBar:
    """A rich progress bar on a terminal (stderr); nothing when piped."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __enter__(self) -> Tick | None:
        if not is_tty(sys.stderr):
            return None
        from rich.console import Console
        from rich.progress import Progress

        self._bar = Progress(console=Console(stderr=True), transient=True)
        self._bar.__enter__()
        tasks: dict[str, int] = {}
        bar = self._bar

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"simulating {stage}", total=total)
            bar.update(tasks[stage], completed=done)

        return tick

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
