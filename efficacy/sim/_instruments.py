"""Instrumental measurements: Cutometer, Corneometer, Tewameter and 3D profilometry.

Each *unit* is one measured site (parallel: one per person; split-face: two per
person). Values combine a person effect (shared by both sites, so repeated measures
and the two sides of a face correlate), a small site effect, visit-level noise and a
treatment effect that grows over visits,
``f(week) = (1 - exp(-week/6)) / (1 - exp(-2))`` (0 at baseline, 1 at week 12), scaled
by a per-unit response multiplier (random slopes). The vehicle gets a fraction of the
active effect (emollient vehicles hydrate a little).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["ENDPOINT_ORDER", "effect_curve", "simulate_values"]

# A family of endpoints simulated together: (generator, effect per unit and visit) -> values.
_Family = Callable[[np.random.Generator, np.ndarray], dict[str, np.ndarray]]

#: Endpoints simulated, in the order rows are written within a visit.
ENDPOINT_ORDER: tuple[str, ...] = (
    "cutometer_uf",
    "cutometer_ue",
    "cutometer_uv",
    "cutometer_ur",
    "cutometer_ua",
    "cutometer_r0",
    "cutometer_r2",
    "cutometer_r5",
    "cutometer_r6",
    "cutometer_r7",
    "cutometer_r8",
    "corneometer",
    "tewl",
    "wrinkle_ra",
    "wrinkle_rz",
    "wrinkle_depth_max",
    "wrinkle_volume",
)

# Facial normative bands at baseline, FACTS.md 4.1: R2 0.66-0.82, R5 0.60-0.92, R7
# 0.37-0.52 (jofa art. 54); R0 = Uf 0.20-0.33 mm and R8 = Ua 0.10-0.27 mm (jofa art. 46).
# Baseline latent values are clipped to the bands shrunk by ~1% so that rounding to the
# instrument's resolution keeps them inside.
_BAND_UF = (0.202, 0.328)
_BAND_R2 = (0.663, 0.817)
_BAND_R5 = (0.603, 0.917)
_BAND_R7 = (0.372, 0.518)
_MAX_UA = 0.268
# Skin lines 20-200 um deep (FACTS.md 4.4), shrunk by 1%.
_BAND_DEPTH = (22.0, 198.0)


def effect_curve(weeks: np.ndarray) -> np.ndarray:
    """Share of the week-12 treatment effect reached at `weeks` (0 at baseline)."""
    weeks = np.asarray(weeks, dtype=float)
    share: np.ndarray = (1.0 - np.exp(-weeks / 6.0)) / (1.0 - np.exp(-2.0))
    return share


def _unit_effect(rng: np.random.Generator, active: np.ndarray, vehicle_share: float) -> np.ndarray:
    """Per-unit effect multiplier: 1 (active) or `vehicle_share`, times a random slope."""
    slope = np.exp(rng.normal(0.0, 0.3, active.size))
    effect: np.ndarray = np.where(active, 1.0, vehicle_share) * slope
    return effect


def _person(rng: np.random.Generator, n_people: int, subj: np.ndarray, sd: float) -> np.ndarray:
    level: np.ndarray = rng.normal(0.0, sd, n_people)[subj]
    return level


def _cutometer(
    rng: np.random.Generator, subj: np.ndarray, n_people: int, eff: np.ndarray
) -> dict[str, np.ndarray]:
    """Amplitudes Uf, Ue, Uv, Ur, Ua (mm) and R-parameters derived from them.

    R0 = Uf, R2 = Ua/Uf, R5 = Ur/Ue, R6 = Uv/Ue, R7 = Ur/Uf, R8 = Ua (FACTS.md 4.1); an
    elasticity/firming effect lowers R0 and raises R2, R5, R7 (FACTS.md 4.1, Ohshima).
    Amplitudes are rounded to 0.1 um with Uf = Ue + Uv exactly; R-parameters are then
    computed from the rounded amplitudes, so they agree to 4 decimals.
    """
    u, v = eff.shape
    uf = 0.265 * np.exp(_person(rng, n_people, subj, 0.08) + rng.normal(0, 0.02, u))[:, None]
    r2 = (0.74 + _person(rng, n_people, subj, 0.03) + rng.normal(0, 0.008, u))[:, None]
    r5 = (0.76 + _person(rng, n_people, subj, 0.05) + rng.normal(0, 0.01, u))[:, None]
    r7 = (0.445 + _person(rng, n_people, subj, 0.025) + rng.normal(0, 0.006, u))[:, None]
    uf = uf * np.exp(rng.normal(0, 0.04, (u, v)) - 0.10 * eff)
    r2 = r2 + rng.normal(0, 0.012, (u, v)) + 0.05 * eff
    r5 = r5 + rng.normal(0, 0.02, (u, v)) + 0.06 * eff
    r7 = r7 + rng.normal(0, 0.01, (u, v)) + 0.04 * eff
    uf[:, 0] = np.clip(uf[:, 0], *_BAND_UF)
    r2[:, 0] = np.clip(r2[:, 0], *_BAND_R2)
    r5[:, 0] = np.clip(r5[:, 0], *_BAND_R5)
    r7[:, 0] = np.clip(r7[:, 0], *_BAND_R7)
    uf[:, 0] = np.minimum(uf[:, 0], _MAX_UA / r2[:, 0])
    uf = np.clip(uf, 0.05, 2.5)
    r2 = np.clip(r2, 0.35, 0.98)
    r5 = np.clip(r5, 0.35, 1.0)
    r7 = np.minimum(np.clip(r7, 0.16, 0.95), np.minimum(r2, r5) - 0.01)
    ue = np.round(uf * r7 / r5, 4)
    uv = np.round(uf - ue, 4)
    uf = np.round(ue + uv, 4)
    ur = np.round(uf * r7, 4)
    ua = np.round(uf * r2, 4)
    return {
        "cutometer_uf": uf,
        "cutometer_ue": ue,
        "cutometer_uv": uv,
        "cutometer_ur": ur,
        "cutometer_ua": ua,
        "cutometer_r0": uf,
        "cutometer_r2": np.round(ua / uf, 4),
        "cutometer_r5": np.round(ur / ue, 4),
        "cutometer_r6": np.round(uv / ue, 4),
        "cutometer_r7": np.round(ur / uf, 4),
        "cutometer_r8": ua,
    }


def _hydration_barrier(
    rng: np.random.Generator,
    subj: np.ndarray,
    n_people: int,
    eff_hyd: np.ndarray,
    eff_tewl: np.ndarray,
) -> dict[str, np.ndarray]:
    """Corneometer (a.u.) and TEWL (g/m2/h) on the cheek.

    Corneometer: facial values run higher than the forearm bands (> 45 a.u. "sufficiently
    hydrated", FACTS.md 4.2): person mean 52 (sd 8), visit sd 4, active +14 a.u. at
    week 12. TEWL: cheek lies between forearm 9.69 and palm 49.3 g/m2/h (FACTS.md 4.3):
    log-normal, median 14.5, person sd 0.22 (log), visit sd 0.10, active -20% at week 12.
    """
    u, v = eff_hyd.shape
    corneo = (52.0 + _person(rng, n_people, subj, 8.0) + rng.normal(0, 2.0, u))[:, None]
    corneo = corneo + rng.normal(0, 4.0, (u, v)) + 14.0 * eff_hyd
    log_tewl = (np.log(14.5) + _person(rng, n_people, subj, 0.22) + rng.normal(0, 0.05, u))[:, None]
    tewl = np.exp(log_tewl + rng.normal(0, 0.10, (u, v)) - 0.22 * eff_tewl)
    return {
        "corneometer": np.round(np.clip(corneo, 12.0, 105.0), 1),
        "tewl": np.round(np.clip(tewl, 3.0, 60.0), 1),
    }


def _wrinkles(
    rng: np.random.Generator, subj: np.ndarray, n_people: int, eff: np.ndarray
) -> dict[str, np.ndarray]:
    """Profilometry Ra, Rz, maximum depth (um) and volume (mm3) of crow's-feet wrinkles.

    Primary and secondary skin lines are 20-200 um deep (FACTS.md 4.4, the catalogue's
    normative band for the maximum depth): baseline depths are drawn around 140 um and
    kept inside 22-198 um. One severity score per person drives all four outcomes, so
    they correlate; the active product reduces them by 12% at week 12.
    """
    u, v = eff.shape
    z = (_person(rng, n_people, subj, 1.0) + rng.normal(0, 0.25, u))[:, None]
    shrink = -0.13 * eff
    ra = 18.0 * np.exp(0.22 * z + rng.normal(0, 0.06, (u, v)) + shrink)
    rz = ra * 5.5 * np.exp(rng.normal(0, 0.05, (u, v)))
    depth = 140.0 * np.exp(0.2 * z + rng.normal(0, 0.06, (u, v)) + shrink)
    depth[:, 0] = np.clip(depth[:, 0], *_BAND_DEPTH)
    volume = 2.4 * np.exp(0.45 * z + rng.normal(0, 0.10, (u, v)) + shrink)
    return {
        "wrinkle_ra": np.round(np.clip(ra, 2.0, 250.0), 1),
        "wrinkle_rz": np.round(np.clip(rz, 10.0, 900.0), 1),
        "wrinkle_depth_max": np.round(np.clip(depth, 15.0, 2000.0), 1),
        "wrinkle_volume": np.round(np.clip(volume, 0.05, 90.0), 3),
    }


def simulate_values(
    seed: int,
    *,
    subj: np.ndarray,
    n_people: int,
    active: np.ndarray,
    weeks: np.ndarray,
    effect_size: float,
) -> Mapping[str, np.ndarray]:
    """Values per endpoint, each an array (units, visits).

    Parameters
    ----------
    seed : int
        Base seed; each instrument family draws from its own stream
        ``default_rng([seed, k])`` so changing one family does not shift the others.
    subj : numpy.ndarray
        Person index of each unit (a person's two split-face sites share it).
    n_people : int
        Number of randomised people.
    active : numpy.ndarray
        True where the unit received the active product.
    weeks : numpy.ndarray
        Nominal week of each visit.
    effect_size : float
        Multiplies every treatment effect (0 gives a null trial).
    """
    f = effect_curve(weeks)[None, :] * effect_size
    out: dict[str, np.ndarray] = {}
    families: tuple[tuple[int, float, _Family], ...] = (
        (11, 0.15, lambda r, e: _cutometer(r, subj, n_people, e)),
        (13, 0.10, lambda r, e: _wrinkles(r, subj, n_people, e)),
    )
    for k, share, family in families:
        rng = np.random.default_rng([seed, k])
        out.update(family(rng, _unit_effect(rng, active, share)[:, None] * f))
    rng = np.random.default_rng([seed, 12])
    eff_hyd = _unit_effect(rng, active, 0.35)[:, None] * f
    eff_tewl = _unit_effect(rng, active, 0.25)[:, None] * f
    out.update(_hydration_barrier(rng, subj, n_people, eff_hyd, eff_tewl))
    return {e: out[e] for e in ENDPOINT_ORDER}
