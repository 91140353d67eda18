"""Example counts of the hostile suite per profile, and the profile in force.

``EFFICACY_HOSTILE`` (or ``HYPOTHESIS_PROFILE``) selects the profile: ``ci`` (default,
derandomized, whole hostile suite well under a minute on 2 cores) or ``long`` (10,000
read+validate cases, on demand). ``EFFICACY_HOSTILE_EXAMPLES="read=2500,analyze=120,
cli=150"`` overrides single counts (the crash census uses it).
"""

from __future__ import annotations

import os

#: Examples per property and profile.
COUNTS: dict[str, dict[str, int]] = {
    "ci": {"read": 40, "analyze": 3, "cli": 8},
    "long": {"read": 10_000, "analyze": 200, "cli": 250},
}
#: Seconds a single case may run before it counts as a hang (a ``timeout`` problem).
LIMITS: dict[str, float] = {"read": 30.0, "analyze": 60.0, "cli": 60.0}


def profile_name() -> str:
    """``long`` when EFFICACY_HOSTILE or HYPOTHESIS_PROFILE says so, else ``ci``."""
    name = os.environ.get("EFFICACY_HOSTILE") or os.environ.get("HYPOTHESIS_PROFILE") or "ci"
    return "long" if name == "long" else "ci"


def examples(kind: str) -> int:
    """Number of examples for `kind` (read / analyze / cli) in the profile in force."""
    override = dict(
        part.split("=", 1)
        for part in os.environ.get("EFFICACY_HOSTILE_EXAMPLES", "").split(",")
        if "=" in part
    )
    if kind in override:
        return max(1, int(override[kind]))
    return COUNTS[profile_name()][kind]
