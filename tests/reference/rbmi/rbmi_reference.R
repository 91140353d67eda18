# Reference values of R rbmi for efficacy.reference_based (tests/rbmi).
#
# Run from this folder:  Rscript rbmi_reference.R
# Writes (beside this script):
#   antidepressant.csv, antidepressant_ice.csv   rbmi's example data, expanded as in its
#                                                 quickstart vignette (expand_locf)
#   rbmi_pooled.csv        pooled results (rbmi::pool, as.data.frame) per case
#   rbmi_bootstrap_ids.csv the subjects of each bootstrap sample of case ad_boot_JR
#   rbmi_approxbayes.csv   per-imputation ANCOVA results of case ad_approxbayes_JR
#   rbmi_versions.txt      R, rbmi and mmrm versions, run times
# Inputs: cosmetic_trial.csv and cosmetic_events.csv (written by make_cosmetic.py).
#
# Settings as rbmi's vignettes: imputation model CHANGE ~ BASVAL*VISIT + THERAPY*VISIT,
# common unstructured covariance, REML; ANCOVA per visit adjusted for BASVAL. THERAPY
# is releveled so that PLACEBO is the first level (rbmi's "ref": trt = DRUG - PLACEBO).
# mmrm's default optimiser stops short of the REML optimum; every case is therefore run
# twice: as rbmi runs it ("default") and with mmrm's L-BFGS-B told to converge tightly
# ("tight"; optimizer_control factr = 1, pgtol = 0, maxit = 10000, set by wrapping
# mmrm::mmrm). Our fits converge tightly (Newton decrement 1e-10), so the tight runs are
# the 1e-6 reference and the default runs show rbmi's own optimiser error.

suppressPackageStartupMessages({
    library(rbmi)
    library(dplyr)
})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", args, value = TRUE))))
setwd(here)

data("antidepressant_data", package = "rbmi")
dat <- antidepressant_data
dat <- expand_locf(
    dat,
    PATIENT = levels(dat$PATIENT),
    VISIT = levels(dat$VISIT),
    vars = c("BASVAL", "THERAPY"),
    group = c("PATIENT"),
    order = c("PATIENT", "VISIT")
)
dat$THERAPY <- factor(as.character(dat$THERAPY), levels = c("PLACEBO", "DRUG"))
dat_ice <- dat %>%
    arrange(PATIENT, VISIT) %>%
    filter(is.na(CHANGE)) %>%
    group_by(PATIENT) %>%
    slice(1) %>%
    ungroup() %>%
    select(PATIENT, VISIT)
dat_ice <- dat_ice[-which(dat_ice$PATIENT == 3618), ]

write.csv(
    dat[, c("PATIENT", "VISIT", "THERAPY", "BASVAL", "CHANGE")],
    "antidepressant.csv", row.names = FALSE, na = ""
)
write.csv(dat_ice, "antidepressant_ice.csv", row.names = FALSE)

vars_ad <- set_vars(
    outcome = "CHANGE", visit = "VISIT", subjid = "PATIENT", group = "THERAPY",
    covariates = c("BASVAL*VISIT", "THERAPY*VISIT")
)
ana_ad <- set_vars(
    outcome = "CHANGE", visit = "VISIT", subjid = "PATIENT", group = "THERAPY",
    covariates = c("BASVAL")
)
refs_ad <- c("DRUG" = "PLACEBO", "PLACEBO" = "PLACEBO")

cos <- read.csv("cosmetic_trial.csv", stringsAsFactors = FALSE)
cos$subject <- factor(cos$subject)
cos$visit <- factor(cos$visit, levels = c("W02", "W04", "W08", "W12"))
cos$arm <- factor(cos$arm, levels = c("vehicle", "product"))
cos_ice <- read.csv("cosmetic_events.csv", stringsAsFactors = FALSE)
vars_cos <- set_vars(
    outcome = "chg", visit = "visit", subjid = "subject", group = "arm",
    covariates = c("base*visit", "arm*visit")
)
ana_cos <- set_vars(
    outcome = "chg", visit = "visit", subjid = "subject", group = "arm",
    covariates = c("base")
)
refs_cos <- c("product" = "vehicle", "vehicle" = "vehicle")

mmrm_orig <- mmrm::mmrm
mmrm_tight <- function(...) {
    mmrm_orig(..., optimizer_control = list(factr = 1, pgtol = 0, maxit = 10000))
}
set_mmrm <- function(tight) {
    utils::assignInNamespace("mmrm", if (tight) mmrm_tight else mmrm_orig, ns = "mmrm")
}

run_case <- function(data, ice, vars, ana, refs, method, type = "percentile") {
    t0 <- proc.time()[["elapsed"]]
    d <- draws(data = data, data_ice = ice, vars = vars, method = method, quiet = TRUE)
    t_draws <- proc.time()[["elapsed"]] - t0
    imp <- impute(d, references = refs)
    a <- analyse(imp, ancova, vars = ana)
    p <- as.data.frame(pool(a, type = type))
    list(draws = d, analysis = a, pooled = p, seconds = proc.time()[["elapsed"]] - t0,
         draws_seconds = t_draws)
}

pooled <- list()
timings <- character()
add <- function(case, fit, optimiser) {
    p <- fit$pooled
    p$case <- case
    p$optimiser <- optimiser
    pooled[[length(pooled) + 1]] <<- p
    timings <<- c(timings, sprintf("%s (%s): %.1f s", case, optimiser, fit$seconds))
}

for (tight in c(FALSE, TRUE)) {
    set_mmrm(tight)
    opt <- if (tight) "tight" else "default"
    for (strategy in c("MAR", "JR", "CR", "CIR", "LMCF")) {
        ice <- dat_ice
        ice$strategy <- strategy
        fit <- run_case(dat, ice, vars_ad, ana_ad, refs_ad, method_condmean(type = "jackknife"))
        add(paste0("ad_jack_", strategy), fit, opt)
    }
    fit <- run_case(cos, cos_ice, vars_cos, ana_cos, refs_cos, method_condmean(type = "jackknife"))
    add("cosmetic_jack_mixed", fit, opt)
}

# Bootstrap (percentile, rbmi's default pooling) and approximate Bayes: tight optimiser.
set_mmrm(TRUE)
ice_jr <- dat_ice
ice_jr$strategy <- "JR"
set.seed(20261206)
boot <- run_case(dat, ice_jr, vars_ad, ana_ad, refs_ad,
                 method_condmean(type = "bootstrap", n_samples = 100))
add("ad_boot_JR", boot, "tight")
boot_normal <- as.data.frame(pool(boot$analysis, type = "normal"))
boot_normal$case <- "ad_boot_normal_JR"
boot_normal$optimiser <- "tight"
pooled[[length(pooled) + 1]] <- boot_normal
ids <- lapply(boot$draws$samples[-1], function(s) as.character(s$ids))
write.csv(
    data.frame(sample = rep(seq_along(ids), lengths(ids)), PATIENT = unlist(ids)),
    "rbmi_bootstrap_ids.csv", row.names = FALSE
)

set.seed(20261207)
ab <- run_case(dat, ice_jr, vars_ad, ana_ad, refs_ad, method_approxbayes(n_samples = 200))
add("ad_approxbayes_JR", ab, "tight")
per_imp <- do.call(rbind, lapply(seq_along(ab$analysis$results), function(k) {
    r <- ab$analysis$results[[k]]
    data.frame(
        imputation = k, parameter = names(r),
        est = vapply(r, function(x) x$est, 1.0),
        se = vapply(r, function(x) x$se, 1.0),
        df = vapply(r, function(x) x$df, 1.0)
    )
}))
write.csv(per_imp, "rbmi_approxbayes.csv", row.names = FALSE)

out <- do.call(rbind, pooled)
out <- out[, c("case", "optimiser", "parameter", "est", "se", "lci", "uci", "pval")]
write.csv(out, "rbmi_pooled.csv", row.names = FALSE)
writeLines(c(
    R.version.string,
    paste("rbmi", as.character(packageVersion("rbmi"))),
    paste("mmrm", as.character(packageVersion("mmrm"))),
    timings
), "rbmi_versions.txt")
