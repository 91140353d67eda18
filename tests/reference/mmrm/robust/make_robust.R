## Reference values for fit_mmrm(..., vcov = "empirical" | "empirical-jackknife" |
## "empirical-bias-reduced"): R mmrm 0.3.18 with vcov = "Empirical" (CR0),
## "Empirical-Jackknife" (CR3) and "Empirical-Bias-Reduced" (CR2) and the df methods mmrm
## allows with them (Satterthwaite -> the empirical / Bell-McCaffrey df of
## h_df_1d_sat_empirical, Residual, Between-Within).
##
## Run from the repository root (about a minute on a 2-core machine):
##   Rscript tests/reference/mmrm/robust/make_robust.R > tests/reference/mmrm/robust/make_robust.Rout 2>&1
## Writes tests/reference/mmrm/robust/robust_reference.json. The test suite never needs R.
##
## Convergence: mmrm's default optimiser (L-BFGS-B) stops up to ~1e-4 relative short of
## the REML optimum, so every fit is refined with nlminb at rel.tol = 1e-14 from the
## first fit's optimum (the theta found is stored; tests check efficacy's theta against it).

suppressPackageStartupMessages({
  library(mmrm)
  library(emmeans)
  library(jsonlite)
})

read_data <- function(file, levels) {
  d <- read.csv(file, stringsAsFactors = FALSE)
  for (v in names(levels)) d[[v]] <- factor(d[[v]], levels = levels[[v]])
  d
}
fev <- read_data("tests/reference/mmrm/fev_data.csv", list(
  RACE = c("Asian", "Black or African American", "White"), SEX = c("Male", "Female"),
  ARMCD = c("PBO", "TRT"), AVISIT = paste0("VIS", 1:4)
))
fev$USUBJID <- factor(fev$USUBJID)
bcva <- read_data("tests/reference/mmrm/r/bcva200_data.csv", list(
  ARMCD = c("CTL", "TRT"), RACE = c("Asian", "Black", "White"), AVISIT = sprintf("VIS%02d", 1:10)
))
bcva$USUBJID <- factor(bcva$USUBJID)
DATA <- list(fev = fev, bcva200 = bcva)

FEV_F <- "FEV1 ~ RACE + SEX + ARMCD * AVISIT"
BCVA_F <- "BCVA_CHG ~ BCVA_BL + RACE + ARMCD * AVISIT"

cs <- function(id, data, formula, cov, vcov, method = "Satterthwaite", weights = NULL,
               group = NULL, subject = "USUBJID", visit = "AVISIT", arm = "ARMCD",
               ftests = c("RACE", "ARMCD:AVISIT")) {
  list(id = id, data = data, formula = formula, cov = cov, vcov = vcov, method = method,
       weights = weights, group = group, subject = subject, visit = visit, arm = arm,
       ftests = ftests)
}
CASES <- list(
  cs("fev_us_cr0_sat", "fev", FEV_F, "us", "Empirical"),
  cs("fev_us_cr3_sat", "fev", FEV_F, "us", "Empirical-Jackknife"),
  cs("fev_us_cr2_sat", "fev", FEV_F, "us", "Empirical-Bias-Reduced"),
  cs("fev_us_cr0_res", "fev", FEV_F, "us", "Empirical", method = "Residual"),
  cs("fev_us_cr2_bw", "fev", FEV_F, "us", "Empirical-Bias-Reduced", method = "Between-Within"),
  cs("fev_toep_cr2_sat", "fev", FEV_F, "toep", "Empirical-Bias-Reduced"),
  cs("fev_ar1_cr3_sat", "fev", FEV_F, "ar1", "Empirical-Jackknife"),
  cs("fev_cs_cr0_sat", "fev", FEV_F, "cs", "Empirical"),
  cs("fev_us_weighted_cr2_sat", "fev", FEV_F, "us", "Empirical-Bias-Reduced", weights = "WEIGHT"),
  cs("fev_ar1h_grouped_cr0_sat", "fev", FEV_F, "ar1h", "Empirical", group = "ARMCD"),
  cs("bcva200_ar1_cr2_sat", "bcva200", BCVA_F, "ar1", "Empirical-Bias-Reduced")
)

cov_term <- function(k) {
  if (is.null(k$group)) sprintf("%s(%s | %s)", k$cov, k$visit, k$subject)
  else sprintf("%s(%s | %s / %s)", k$cov, k$visit, k$group, k$subject)
}

fit_case <- function(k) {
  d <- DATA[[k$data]]
  f <- as.formula(paste(k$formula, "+", cov_term(k)))
  w <- if (is.null(k$weights)) NULL else d[[k$weights]]
  args <- list(formula = f, data = d, reml = TRUE, method = k$method, vcov = k$vcov)
  if (!is.null(w)) args$weights <- w
  first <- do.call(mmrm, args)
  args$start <- first$theta_est
  args$optimizer <- "nlminb"
  for (tol in c(1e-14, 1e-12, 1e-10)) {
    args$optimizer_control <- list(rel.tol = tol, iter.max = 2000, eval.max = 4000)
    fit <- tryCatch(do.call(mmrm, args), error = function(e) NULL)
    if (!is.null(fit)) return(list(first = first, fit = fit, refine = sprintf("nlminb rel.tol %g", tol)))
  }
  list(first = first, fit = first, refine = "none (mmrm default fit)")
}

rows_of <- function(fit, term) {
  nm <- names(component(fit, "beta_est"))
  asgn <- attr(component(fit, "x_matrix"), "assign")
  labs <- attr(terms(fit$formula_parts$model_formula), "term.labels")
  idx <- which(asgn == match(term, labs))
  L <- matrix(0, length(idx), length(nm), dimnames = list(NULL, nm))
  L[cbind(seq_along(idx), idx)] <- 1
  L
}

one <- function(k) {
  t0 <- proc.time()[["elapsed"]]
  ff <- fit_case(k)
  fit <- ff$fit
  elapsed <- proc.time()[["elapsed"]] - t0
  co <- summary(fit)$coefficients
  emm <- emmeans(fit, as.formula(sprintf("~ %s | %s", k$arm, k$visit)))
  lsm <- as.data.frame(summary(emm))
  con <- as.data.frame(summary(contrast(emm, "revpairwise")))
  ftests <- lapply(k$ftests, function(term) {
    r <- df_md(fit, rows_of(fit, term))
    list(term = term, f = r$f_stat, num_df = r$num_df, den_df = r$denom_df, p_value = r$p_val)
  })
  cat(sprintf("%-26s -2LL %.10f (first fit %.10f)  %d coefs  %.2fs  %s\n", k$id,
              -2 * logLik(fit), -2 * logLik(ff$first), nrow(co), elapsed, ff$refine))
  list(
    id = k$id, data = k$data, formula = k$formula, covariance = k$cov,
    vcov = k$vcov, df_method = k$method, weights = k$weights, group = k$group,
    subject = k$subject, visit = k$visit, arm = k$arm,
    r_call = deparse(fit$call, width.cutoff = 500L), refine = ff$refine,
    deviance = -2 * as.numeric(logLik(fit)),
    theta = unname(fit$theta_est),
    coefficients = list(
      term = rownames(co), estimate = unname(co[, "Estimate"]),
      std_error = unname(co[, "Std. Error"]), df = unname(co[, "df"]),
      p_value = unname(co[, "Pr(>|t|)"])
    ),
    vcov_matrix = unname(component(fit, "beta_vcov")),
    vcov_model_based = unname(fit$beta_vcov),
    lsmeans = list(
      arm = as.character(lsm[[k$arm]]), visit = as.character(lsm[[k$visit]]),
      estimate = lsm$emmean, std_error = lsm$SE, df = lsm$df
    ),
    contrasts = list(
      contrast = as.character(con$contrast), visit = as.character(con[[k$visit]]),
      estimate = con$estimate, std_error = con$SE, df = con$df, p_value = con$p.value
    ),
    f_tests = ftests
  )
}

out <- lapply(CASES, one)
meta <- list(
  r_version = R.version.string,
  mmrm_version = as.character(packageVersion("mmrm")),
  emmeans_version = as.character(packageVersion("emmeans")),
  created = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  script = "tests/reference/mmrm/robust/make_robust.R",
  convergence = "mmrm default fit, then nlminb from its optimum with rel.tol = 1e-14",
  cases = out
)
writeLines(toJSON(meta, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           "tests/reference/mmrm/robust/robust_reference.json")
cat("wrote", length(out), "cases\n")
sessionInfo()
