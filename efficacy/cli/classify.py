"""The ``efficacy classify`` command: a product's regulatory pathway in five markets.

``efficacy classify PRODUCT.toml [--format text|json]`` reads the ``[product]`` table
and prints, per jurisdiction (US, EU, JP, KR, CN), the category, pathway, review clock,
evidence tier and the criteria that decided it, each with its source. Nothing is written
to disk. Decision support, not legal advice (said once in every output).
"""

from __future__ import annotations

import argparse
import sys

from efficacy.cli._common import EXIT_OK, add_format, emit_json

__all__ = ["HELP", "add_arguments", "run_classify"]

HELP = "classify a product's regulatory pathway in the US, EU, Japan, Korea and China"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the product file and ``--format`` to `p`."""
    p.add_argument("product", metavar="PRODUCT.toml", help="TOML file with a [product] table")
    add_format(p)


def run_classify(args: argparse.Namespace) -> int:
    """Run ``efficacy classify``; return the exit code (0)."""
    from efficacy.regulatory import classify, load_product

    result = classify(load_product(args.product))
    if args.format == "json":
        emit_json(result.to_dict())
    else:
        sys.stdout.write(result.to_text())
    return EXIT_OK
