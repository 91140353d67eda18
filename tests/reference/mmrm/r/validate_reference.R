## validate_reference.R: checks of the reference machinery, sourced at the end of
## make_reference.R (needs its functions and DATASETS). Writes validation.json.
##
##  1. Kenward-Roger: refmmrm.R's KR code with the EXPECTED information (pbkrtest's choice)
##     against pbkrtest::vcovAdj / get_Lb_ddf / KRmodcomp on the equivalent lme4 model
##     (compound symmetry = random subject intercept + homogeneous residual; requires the
##     fitted within-subject correlation to be >= 0). SAS's CS parameters (CS, Residual) are
##     the two lme4 variance components, so the covariance model is linear in both: the
##     KR R_ij term is zero and kenward_roger == kenward_roger_linear for cs.
##  2. Satterthwaite df by two numerical routes (theta Jacobian of Phi vs psi derivatives of
##     Sigma with the delta-method W); they must agree (invariance at the optimum).
##  3. Summary over all case files: agreement direct vs nlme::gls + emmeans, and vs SAS.

cat("\n== validation\n")
VAL <- list(meta = META)

## 1. pbkrtest -------------------------------------------------------------------------
pbkr_check <- function(dataset, formula, subject, visit, L_extra = NULL) {
  d0 <- load_dataset(dataset)
  dat <- rm_data(d0, formula, subject, visit)
  fit <- rm_inference(rm_fit(dat, "cs", "reml"))
  comp <- rm_kr_components(fit)
  d <- dat$data
  lf <- as.formula(paste(formula, "+ (1 |", subject, ")"))
  ctl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
  mm <- lmer(lf, data = d, REML = TRUE, control = ctl)
  k <- dat$k
  terms <- colnames(dat$X)
  VA <- as.matrix(vcovAdj(mm))
  pb_df <- vapply(seq_len(k), function(j) get_Lb_ddf(mm, diag(k)[j, ]), 0)
  exp_se <- sqrt(diag(rm_kr_vcov(fit, comp, comp$W_exp)))
  exp_df <- vapply(seq_len(k), function(j) rm_kr_df(fit, comp, comp$W_exp, diag(k)[j, ])$df, 0)
  obs_se <- sqrt(diag(rm_kr_vcov(fit, comp, fit$W_obs)))
  obs_df <- vapply(seq_len(k), function(j) rm_kr_df(fit, comp, fit$W_obs, diag(k)[j, ])$df, 0)
  res <- list(
    dataset = dataset, formula = formula,
    lmer_call = sprintf("lmer(%s, REML = TRUE, bobyqa rhoend = 1e-12); pbkrtest::vcovAdj, get_Lb_ddf, KRmodcomp", deparse(lf)),
    neg2loglik_lmer = -2 * as.numeric(logLik(mm)), neg2loglik_direct_cs = fit$m2ll,
    cs_correlation = fit$psi[1] / sum(fit$psi),
    coefficients = data.frame(
      term = terms, estimate_lmer = unname(fixef(mm)), estimate_direct = fit$beta,
      kr_se_pbkrtest = sqrt(diag(VA)), kr_se_direct_expected_info = exp_se,
      kr_df_pbkrtest = pb_df, kr_df_direct_expected_info = exp_df,
      kr_se_direct_observed_info = obs_se, kr_df_direct_observed_info = obs_df
    )
  )
  res$max_rel_se <- rel_diff(exp_se, sqrt(diag(VA)))
  res$max_rel_df <- rel_diff(exp_df, pb_df)
  res$max_rel_estimate <- tol_ratio(fit$beta, unname(fixef(mm))) * 1e-4
  # Arm differences at the last visit (coefficient of the arm + its last-visit interaction).
  last <- grep(":", terms, fixed = TRUE)
  last <- last[sub(".*:", "", terms[last]) == tail(sub(".*:", "", terms[last]), 1)]
  if (length(last) > 0) {
    arm_cols <- match(sub(":.*", "", terms[last]), terms)
    Lc <- matrix(0, length(last), k, dimnames = list(terms[last], terms))
    Lc[cbind(seq_along(last), arm_cols)] <- 1
    Lc[cbind(seq_along(last), last)] <- 1
    VE <- rm_kr_vcov(fit, comp, comp$W_exp)
    res$last_visit_contrasts <- data.frame(
      contrast = paste(terms[arm_cols], "+", terms[last]),
      estimate_direct = drop(Lc %*% fit$beta),
      kr_se_pbkrtest = sqrt(rowSums((Lc %*% VA) * Lc)),
      kr_se_direct_expected_info = sqrt(rowSums((Lc %*% VE) * Lc)),
      kr_df_pbkrtest = vapply(seq_along(last), function(i) get_Lb_ddf(mm, Lc[i, , drop = FALSE]), 0),
      kr_df_direct_expected_info = vapply(seq_along(last), function(i) rm_kr_df(fit, comp, comp$W_exp, Lc[i, ])$df, 0)
    )
    res$max_rel_se <- max(res$max_rel_se, rel_diff(res$last_visit_contrasts$kr_se_direct_expected_info, res$last_visit_contrasts$kr_se_pbkrtest))
    res$max_rel_df <- max(res$max_rel_df, rel_diff(res$last_visit_contrasts$kr_df_direct_expected_info, res$last_visit_contrasts$kr_df_pbkrtest))
  }
  if (!is.null(L_extra)) {
    L <- L_extra(terms)
    kr <- KRmodcomp(mm, L)
    mine <- rm_kr_test(fit, comp, comp$W_exp, rm_kr_vcov(fit, comp, comp$W_exp), L)
    res$wald <- list(
      L_rows = nrow(L), pbkrtest_F = kr$stats$Fstat, pbkrtest_ddf = kr$stats$ddf, pbkrtest_scaling = kr$stats$F.scaling,
      direct_F = mine$f_scaled, direct_ddf = mine$denom_df, direct_scaling = mine$lambda
    )
  }
  cat(sprintf(
    "pbkrtest %-10s %-40s corr %.3f  d-2LL %+.1e  est %.1e  KR se %.1e  KR df %.1e%s\n", dataset, formula,
    res$cs_correlation, res$neg2loglik_direct_cs - res$neg2loglik_lmer, res$max_rel_estimate, res$max_rel_se, res$max_rel_df,
    if (is.null(res$wald)) "" else sprintf(
      "  F %.1e ddf %.1e", abs(res$wald$direct_F / res$wald$pbkrtest_F - 1),
      abs(res$wald$direct_ddf / res$wald$pbkrtest_ddf - 1)
    )
  ))
  res
}
inter_L <- function(terms) diag(length(terms))[grep(":", terms, fixed = TRUE), , drop = FALSE]
VAL$pbkrtest <- list(
  pbkr_check("fev", "FEV1 ~ ARMCD", "USUBJID", "AVISIT"),
  pbkr_check("fev", "FEV1 ~ RACE + SEX + ARMCD * AVISIT", "USUBJID", "AVISIT", inter_L),
  pbkr_check("cosmetic2", "CHG ~ BASE + ARM * VISIT", "SUBJID", "VISIT", inter_L),
  pbkr_check("cosmetic3", "CHG ~ BASE + SEX + ARM * VISIT", "SUBJID", "VISIT", inter_L)
)

## 2. Two routes to the Satterthwaite df -------------------------------------------------
## (a) refmmrm.R's rm_sat_1d: numerical Jacobian of Phi and Hessian, both in theta;
## (b) 2 (l'Phi l)^2 / (g' W g) with g_k = -l' Phi P_k Phi l, P_k from the derivatives of
##     Sigma in SAS's parameters psi (the KR components) and W mapped to psi (delta method).
##     For a single contrast this is also the Kenward-Roger df.
df_route_check <- function(dataset, formula, subject, visit, structure, method) {
  dat <- rm_data(load_dataset(dataset), formula, subject, visit)
  fit <- rm_inference(rm_fit(dat, structure, method))
  comp <- rm_kr_components(fit)
  k <- dat$k
  a <- vapply(seq_len(k), function(j) rm_sat_1d(fit, diag(k)[j, ])$df, 0)
  b <- vapply(seq_len(k), function(j) rm_kr_df(fit, comp, fit$W_obs, diag(k)[j, ])$df, 0)
  r <- list(case = paste(dataset, formula, structure, method), df_theta_route = a, df_psi_route = b, max_rel = rel_diff(a, b))
  cat(sprintf("df routes %-62s max rel %.1e\n", r$case, r$max_rel))
  r
}
VAL$df_two_routes <- list(
  df_route_check("fev", "FEV1 ~ RACE + SEX + ARMCD * AVISIT", "USUBJID", "AVISIT", "us", "reml"),
  df_route_check("fev", "FEV1 ~ RACE + SEX + ARMCD * AVISIT", "USUBJID", "AVISIT", "csh", "ml"),
  df_route_check("cosmetic3", "CHG ~ BASE + SEX + ARM * VISIT", "SUBJID", "VISIT", "adh", "reml"),
  df_route_check("cosmetic2", "CHG ~ BASE + ARM * VISIT", "SUBJID", "VISIT", "toeph", "ml"),
  df_route_check("cosmetic2", "CHG ~ BASE + ARM * VISIT", "SUBJID", "VISIT", "ar1h", "reml")
)

## 3. Summary over the case files ------------------------------------------------------
files <- list.files(file.path(out, "cases"), pattern = "[.]json$", full.names = TRUE)
rows <- lapply(files, function(f) {
  r <- fromJSON(f, simplifyVector = TRUE)
  ag <- r$gls$agreement_with_direct
  pick <- function(x) if (is.null(x)) NA_real_ else x
  data.frame(
    id = r$id, neg2loglik = r$neg2loglik, max_abs_gradient = r$convergence$max_abs_gradient_theta,
    gls_d_m2ll = pick(ag$neg2loglik_gls_minus_direct), gls_est_tol_ratio = pick(ag$estimate_tolerance_ratio),
    gls_se_rel = pick(ag$std_error_max_rel), gls_cov_rel = pick(ag$covariance_max_rel),
    gls_df_rel = pick(ag$coefficient_df_max_rel), gls_lsm_df_rel = pick(ag$lsmean_df_max_rel),
    emm_apvar_df_rel = suppressWarnings(max(pick(ag$coefficient_df_emmeans_apvar_max_rel), pick(ag$lsmean_df_emmeans_apvar_max_rel), na.rm = TRUE)),
    gls_error = if (is.null(r$gls$error)) "" else r$gls$error,
    stringsAsFactors = FALSE
  )
})
summ <- do.call(rbind, rows)
cat("\nAgreement of the direct reference values with nlme::gls (+ emmeans) per case:\n")
print(format(summ, digits = 3), row.names = FALSE)
with_gls <- summ[!is.na(summ$gls_d_m2ll), ]
VAL$gls_agreement_summary <- list(
  n_cases = nrow(summ), n_cases_with_gls = nrow(with_gls),
  max_gls_minus_direct_m2ll = max(with_gls$gls_d_m2ll),
  min_gls_minus_direct_m2ll = min(with_gls$gls_d_m2ll),
  max_estimate_tolerance_ratio = max(with_gls$gls_est_tol_ratio),
  max_std_error_rel = max(with_gls$gls_se_rel),
  max_covariance_rel = max(with_gls$gls_cov_rel, na.rm = TRUE),
  max_df_rel_precise = max(c(with_gls$gls_df_rel, with_gls$gls_lsm_df_rel), na.rm = TRUE),
  max_df_rel_emmeans_apvar = max(with_gls$emm_apvar_df_rel, na.rm = TRUE),
  per_case = summ
)
print(VAL$gls_agreement_summary[-length(VAL$gls_agreement_summary)])
write_json(VAL, file.path(out, "validation.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null")
