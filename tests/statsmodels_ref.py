"""statsmodels' ``multipletests`` as the reference the tests compare against, minus its
``gc.collect()``.

statsmodels' Holm branch runs a full garbage collection on every call (multitest.py,
after the running maximum): 0.2-0.6 s in a test worker holding the session's results,
nothing to do with the numbers. The reference here is the same function with
``gc.collect`` a no-op for the duration of the call (statsmodels imports ``gc`` inside
the function).
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from statsmodels.stats import multitest


def multipletests(*args: Any, **kwargs: Any) -> Any:
    """``statsmodels.stats.multitest.multipletests(*args, **kwargs)`` without gc.collect."""
    with mock.patch("gc.collect", return_value=0):
        return multitest.multipletests(*args, **kwargs)
