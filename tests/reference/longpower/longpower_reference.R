# Reference values for efficacy.power_mmrm from R longpower (Lu, Luo & Chen 2008).
# longpower 1.0.27 built from its public source (github.com/mcdonohue/longpower, commit 189c4b0).
# Run: Rscript longpower_reference.R > longpower_reference.json
suppressPackageStartupMessages(library(longpower))
library(jsonlite)
cases <- list()
add <- function(id, args, res, structure = "unstructured") {
  cases[[length(cases) + 1]] <<- list(
    id = id, structure = structure, args = args,
    n1 = res$n1, n2 = res$n2, power = res$power, delta = res$delta,
    phi1 = if (is.null(res$phi1)) NA else res$phi1,
    phi2 = if (is.null(res$phi2)) NA else res$phi2)
}
# longpower's help page (?power.mmrm): exchangeable 0.25, retention 1, .9, .8, .7
Ra <- matrix(0.25, nrow = 4, ncol = 4); diag(Ra) <- 1
ra <- c(1, 0.90, 0.80, 0.70)
for (lam in c(1, 2)) {
  a <- list(Ra = Ra, ra = ra, sigmaa = 1, delta = 0.5, power = 0.80, lambda = lam)
  add(sprintf("help_n_lambda%g", lam), a, do.call(power.mmrm, a))
  a <- list(N = 174, Ra = Ra, ra = ra, sigmaa = 1, delta = 0.5, lambda = lam)
  add(sprintf("help_power_lambda%g", lam), a, do.call(power.mmrm, a))
}
# Table 5 of Lu, Luo & Chen (2008), as longpower's ?power.mmrm.ar1 reproduces it
ra5 <- c(100, 76, 63, 52) / 100; rb5 <- c(100, 87, 81, 78) / 100
for (lam in c(sqrt(1.25 / 1.75), 1.25 / 1.75, 1, 2)) {
  a <- list(rho = 0.6, ra = ra5, sigmaa = 1, rb = rb5, lambda = lam, power = 0.9, delta = 0.9)
  add(sprintf("ar1_table5_n_lambda%.6f", lam), a, do.call(power.mmrm.ar1, a), "ar1")
}
a <- list(N = 80, rho = 0.6, ra = ra5, sigmaa = 1, rb = rb5, lambda = 1, delta = 0.9)
add("ar1_table5_power_N80", a, do.call(power.mmrm.ar1, a), "ar1")
a <- list(N = 80, rho = 0.6, ra = ra5, sigmaa = 1, rb = rb5, lambda = 1, delta = 0.9,
          times = c(0, 2, 4, 8))
add("ar1_times_power_N80", a, do.call(power.mmrm.ar1, a), "ar1")
# Cosmetic designs: the issue's elasticity scenario (Cutometer R2, weeks 2, 4, 8, 12;
# SD 0.03; correlation 0.6 adjacent, 0.5 two apart, 0.4 first to last; retention
# 1, .95, .90, .85; difference 0.02 at week 12)
Rc <- matrix(c(1, .6, .5, .4,  .6, 1, .6, .5,  .5, .6, 1, .6,  .4, .5, .6, 1), 4)
rc <- c(1, 0.95, 0.90, 0.85)
a <- list(Ra = Rc, ra = rc, sigmaa = 0.03, delta = 0.02, power = 0.90)
add("cosmetic_elasticity_n", a, do.call(power.mmrm, a))
a <- list(N = 80, Ra = Rc, ra = rc, sigmaa = 0.03, delta = 0.02)
add("cosmetic_elasticity_power_N80", a, do.call(power.mmrm, a))
# Corneometer-like hydration: unequal SDs and retention per arm, 2:1, one-sided
a <- list(Ra = Rc, ra = rc, sigmaa = 9, Rb = Rc, rb = c(1, 0.9, 0.8, 0.75), sigmab = 11,
          delta = 5, power = 0.85, lambda = 2, alternative = "one.sided", sig.level = 0.025)
add("cosmetic_hydration_n_2to1_onesided", a, do.call(power.mmrm, a))
a <- list(N = 60, Ra = Rc, ra = rc, sigmaa = 9, Rb = diag(4) * 0.5 + 0.5,
          rb = c(1, 0.9, 0.8, 0.75), sigmab = 11, delta = 5, lambda = 2)
add("cosmetic_hydration_power_N60_Rb", a, do.call(power.mmrm, a))
cat(toJSON(list(longpower = as.character(packageVersion("longpower")),
                R = R.version.string, cases = cases),
           auto_unbox = TRUE, digits = NA, pretty = TRUE, matrix = "rowmajor"))
