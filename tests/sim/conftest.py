"""The flawed sample bundles, simulated once per test session (per xdist worker).

``flawed_bundles()`` simulates five trials and plants their defects (~0.6 s); calling it
at import time, to parametrize, cost every worker that much at collection, twice (two
test modules). The parameters need only the names (tests/sim/flawed.py); the bundles
themselves come from the session fixture ``flawed``, on the workers that use them.
"""

from __future__ import annotations

import pytest

from efficacy.sim._defects import FlawedBundle
from efficacy.sim.samples import flawed_bundles


@pytest.fixture(scope="session")
def flawed() -> dict[str, FlawedBundle]:
    """``flawed_bundles()`` by name, computed once."""
    return {fb.name: fb for fb in flawed_bundles()}
