"""Optimisers for the MMRM engine: analytic Newton first, scipy fallbacks after.

Every optimiser minimises ``-2 log L(theta)`` (ML or REML) through an `Objective`,
which caches the last full evaluation. Non-positive-definite covariance matrices give
``+inf`` (rejected by the line searches). A fit is converged when the analytic Hessian
is positive definite and the Newton decrement ``g' H^{-1} g`` (the predicted remaining
decrease of ``-2 log L``, times two) is below ``decrement_tol``; results of the scipy
optimisers are polished by Newton steps and judged by the same rule.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from efficacy.mmrm import covariance as cov
from efficacy.mmrm._likelihood import Evaluation, PatternData, evaluate, with_derivatives

#: An optimiser that stops unconverged with a group covariance whose condition number
#: is at least this is heading for a singular covariance: the (RE)ML criterion
#: decreases without bound towards the boundary (e.g. an unstructured covariance of 4
#: visits from 5 subjects), so no other optimiser can find a maximum and none is tried
#: (engine), and Newton stops there after `SINGULAR_AFTER` iterations. On the sample
#: trials cut to 4-16 subjects every Newton failure ended at a condition number of 1e6
#: to 1e12 and no later optimiser ever converged (each spent seconds, Nelder-Mead most);
#: the reference fits (tests/mmrm) and the full sample trials converge with Newton in
#: fewer iterations.
SINGULAR_CONDITION: float = 1e5
SINGULAR_AFTER: int = 30


@dataclass(frozen=True)
class OptimOutcome:
    """How one optimiser ended."""

    name: str
    theta: np.ndarray
    value: float
    converged: bool
    iterations: int
    message: str


class Objective:
    """-2 log-likelihood of a structure as a function of the optimiser ``theta``."""

    def __init__(self, data: PatternData, structure: str, reml: bool) -> None:
        self.data = data
        self.structure = structure
        self.reml = reml
        self.n_eval = 0
        self._last: tuple[bytes, int, Evaluation | None] | None = None

    def evaluate(self, theta: np.ndarray, order: int) -> Evaluation | None:
        """Evaluate with derivatives up to ``order`` (cached for the last theta).

        At the cached theta with derivatives of a lower order (the line search's value,
        then the accepted step's Hessian), only the derivatives are added: Sigma, and so
        the factorisation, value and inverses, do not depend on the order asked for.
        """
        key = np.asarray(theta, dtype=float).tobytes()
        last = self._last if self._last is not None and self._last[0] == key else None
        if last is not None and last[1] >= order:
            return last[2]
        self.n_eval += 1
        d = self.data
        with np.errstate(over="ignore", invalid="ignore"):
            sd = cov.sigma_derivatives(self.structure, theta, d.m, d.n_groups, order)
        if last is not None:
            base = last[2]
            ev = None if base is None else with_derivatives(d, base, self.reml, sd.d1, sd.d2)
        elif not np.all(np.isfinite(sd.sigma)):
            ev = None
        else:
            ev = evaluate(d, sd.sigma, self.reml, sd.d1, sd.d2)
        if ev is not None and not np.isfinite(ev.value):
            ev = None
        self._last = (key, order, ev)
        return ev

    def condition(self, theta: np.ndarray) -> float:
        """Largest condition number of the group covariance matrices at ``theta``."""
        d = self.data
        with np.errstate(over="ignore", invalid="ignore"):
            sigma = cov.sigma_derivatives(self.structure, theta, d.m, d.n_groups, 0).sigma
        if not np.all(np.isfinite(sigma)):
            return np.inf
        worst = 0.0
        for s in sigma:
            w = np.linalg.eigvalsh(s)
            worst = max(worst, np.inf if w[0] <= 0 else float(w[-1] / w[0]))
        return worst

    def value(self, theta: np.ndarray) -> float:
        ev = self.evaluate(theta, 0)
        return np.inf if ev is None else ev.value

    def value_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        ev = self.evaluate(theta, 1)
        if ev is None:
            return np.inf, np.zeros_like(theta)
        assert ev.grad is not None  # order 1 evaluations carry the gradient
        return ev.value, ev.grad


def newton_decrement(ev: Evaluation) -> tuple[float, bool]:
    """``g' H^{-1} g`` and whether the Hessian is positive definite."""
    assert ev.grad is not None and ev.hess is not None  # an order 2 evaluation
    try:
        low = np.linalg.cholesky(ev.hess)
    except np.linalg.LinAlgError:
        return np.inf, False
    z = np.linalg.solve(low, ev.grad)
    return float(z @ z), True


def newton(
    obj: Objective, x0: np.ndarray, max_iter: int, decrement_tol: float, name: str = "newton"
) -> OptimOutcome:
    """Newton-Raphson with an eigenvalue-modified Hessian and backtracking line search."""
    x = np.asarray(x0, dtype=float).copy()
    ev = obj.evaluate(x, 2)
    if ev is None:
        return OptimOutcome(name, x, np.inf, False, 0, "covariance not positive definite at start")
    for it in range(max_iter + 1):
        dec, pd = newton_decrement(ev)
        if pd and dec <= decrement_tol:
            return OptimOutcome(name, x, ev.value, True, it, f"Newton decrement {dec:.2e}")
        if it == max_iter:
            break
        if it >= SINGULAR_AFTER and obj.condition(x) >= SINGULAR_CONDITION:
            msg = f"covariance tends to singular after {it} iterations"
            return OptimOutcome(name, x, ev.value, False, it, msg)
        assert ev.grad is not None and ev.hess is not None  # order 2 evaluations
        step = _modified_newton_step(ev.grad, ev.hess)
        x_new, ev_new = _line_search(obj, x, ev, step)
        if ev_new is None:
            msg = f"line search failed (Newton decrement {dec:.2e})"
            return OptimOutcome(name, x, ev.value, False, it, msg)
        if float(np.max(np.abs(x_new - x))) <= 1e-12 * max(1.0, float(np.max(np.abs(x)))):
            msg = f"line search made no progress (Newton decrement {dec:.2e})"
            return OptimOutcome(name, x, ev.value, False, it, msg)
        x, ev = x_new, ev_new
    return OptimOutcome(name, x, ev.value, False, max_iter, "iteration limit reached")


def _modified_newton_step(grad: np.ndarray, hess: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(hess)
    scale = max(float(np.max(np.abs(w))), 1e-300)
    w_mod = np.maximum(np.abs(w), 1e-8 * scale)
    step: np.ndarray = -v @ ((v.T @ grad) / w_mod)
    big = float(np.max(np.abs(step)))
    if big > 5.0:  # parameters live on log / atanh-like scales
        step *= 5.0 / big
    return step


def _line_search(
    obj: Objective, x: np.ndarray, ev: Evaluation, step: np.ndarray
) -> tuple[np.ndarray, Evaluation | None]:
    """Backtracking Armijo search; tolerates rounding-level increases near the optimum."""
    assert ev.grad is not None  # an order 2 evaluation
    slope = float(ev.grad @ step)
    noise = 1e-12 * max(1.0, abs(ev.value))
    t = 1.0
    for _ in range(60):
        x_new = x + t * step
        f_new = obj.value(x_new)
        if f_new <= ev.value + 1e-4 * t * slope + noise:
            ev_new = obj.evaluate(x_new, 2)
            if ev_new is not None:
                return x_new, ev_new
        t *= 0.5
    return x, None


def scipy_then_newton(
    obj: Objective, x0: np.ndarray, method: str, max_iter: int, decrement_tol: float
) -> OptimOutcome:
    """Run a scipy optimiser, then polish with Newton steps and judge convergence."""
    from scipy import optimize  # here, not at import: only this fallback needs it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "nelder-mead":
            # a bounded derivative-free stage: it only has to reach Newton's basin
            # (the polish below judges convergence); 100 (k + 1) evaluations
            n = x0.size
            res = optimize.minimize(
                obj.value,
                x0,
                method="Nelder-Mead",
                options={
                    "maxiter": 50 * (n + 1),
                    "maxfev": 100 * (n + 1),
                    "xatol": 1e-9,
                    "fatol": 1e-11,
                    "adaptive": n > 3,
                },
            )
        else:
            res = optimize.minimize(
                obj.value_grad,
                x0,
                jac=True,
                method="L-BFGS-B" if method == "l-bfgs-b" else "BFGS",
                options={"maxiter": max_iter * 10, "gtol": 1e-9}
                | ({"ftol": 1e-15} if method == "l-bfgs-b" else {}),
            )
    its = int(getattr(res, "nit", 0))
    if not np.isfinite(res.fun):
        return OptimOutcome(method, res.x, np.inf, False, its, f"scipy: {res.message}")
    pol = newton(obj, res.x, 50, decrement_tol, name=method)
    msg = f"scipy: {res.message}; Newton polish: {pol.message}"
    return OptimOutcome(method, pol.theta, pol.value, pol.converged, its + pol.iterations, msg)
