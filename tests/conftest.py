"""Suite-wide hypothesis profiles (issue 11).

* ``ci`` (default): reproducible (derandomized), no example database, no deadline.
* ``long``: random, with an example database outside the repository
  (``$XDG_CACHE_HOME/efficacy-hypothesis``, default ``~/.cache/efficacy-hypothesis``);
  selected by ``EFFICACY_HOSTILE=long`` or ``HYPOTHESIS_PROFILE=long``. Example counts of
  the hostile suite per profile: tests/hostile/profile.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from tests.hostile.profile import profile_name

_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "efficacy-hypothesis"

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    deadline=None,
    derandomize=False,
    database=DirectoryBasedExampleDatabase(_CACHE),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(profile_name())
