"""Seeded simulator of cosmetic efficacy trials and the sample bundles built from it.

``simulate_parallel`` / ``simulate_split_face`` return a :class:`SimulatedBundle`
(manifest + tables in memory); :func:`write_bundle` writes it as a bundle folder.
``python -m efficacy.sim OUTDIR`` regenerates every sample bundle of ``sample_data/``.
"""

from __future__ import annotations

from efficacy.sim.bundle import SimulatedBundle, write_bundle
from efficacy.sim.simulate import simulate_parallel, simulate_split_face

__all__ = ["SimulatedBundle", "simulate_parallel", "simulate_split_face", "write_bundle"]
