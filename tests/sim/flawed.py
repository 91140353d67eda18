"""Names of the flawed sample bundles, without simulating them (parameters of tests/sim)."""

from __future__ import annotations

from efficacy.sim.samples import _FLAWED

#: The flawed bundles that read and validate (the others are unusable input), sorted.
ANALYSABLE = sorted(spec.name for spec in _FLAWED if not spec.raises)
