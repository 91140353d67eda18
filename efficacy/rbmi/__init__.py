"""Reference-based multiple imputation (R rbmi's methods): `reference_based`.

Imputation model: an MMRM fitted with the project's engine; strategies MAR, JR, CR, CIR,
LMCF; conditional mean imputation with jackknife or bootstrap, or approximate Bayesian
multiple imputation; ANCOVA per visit; rbmi's pooling rules.
"""

from __future__ import annotations

from efficacy.rbmi.api import impute_reference_based, reference_based
from efficacy.rbmi.result import RESULT_COLUMNS, ReferenceBasedResult

__all__ = ["RESULT_COLUMNS", "ReferenceBasedResult", "impute_reference_based", "reference_based"]
