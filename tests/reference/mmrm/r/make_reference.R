## make_reference.R: independent R reference values for efficacy.fit_mmrm.
##
## Run from the repository root (about an hour on a 2-core machine; bcva200 us dominates):
##   Rscript tests/reference/mmrm/r/make_data.R        # only if the data sets must change
##   Rscript tests/reference/mmrm/r/make_reference.R > tests/reference/mmrm/r/make_reference.Rout 2>&1
##
## For every case (data set x model x covariance structure x REML/ML) it writes
## cases/<id>.json holding
##   * the reference values from refmmrm.R (direct likelihood, tight convergence):
##     -2 log-likelihood, coefficients (estimate, model-based SE, Satterthwaite df),
##     fitted covariance matrix per visit (per group), LS means and arm differences per visit
##     (emmeans conventions), Wald F tests, and for REML the Kenward-Roger values;
##   * an independent nlme::gls fit of the same model where nlme has the structure, with
##     emmeans(mode = "satterthwaite") LS means / contrasts / df, and the agreement with
##     the direct values;
##   * SAS PROC MIXED numbers (../sas_reference.md) for the fev_data cases SAS listed.
## plus index.json (all cases) and validation.json (checks of the reference machinery).
## Requires: R >= 4.2 with nlme, emmeans, numDeriv, jsonlite, lme4, pbkrtest (Debian r-cran-*).

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(jsonlite)
  library(lme4)
  library(pbkrtest)
})
root <- "tests/reference/mmrm"
out <- file.path(root, "r")
source(file.path(out, "refmmrm.R"))
dir.create(file.path(out, "cases"), showWarnings = FALSE)
options(width = 120)

pkgs <- c("nlme", "emmeans", "numDeriv", "jsonlite", "lme4", "pbkrtest", "Matrix")
META <- list(
  generated_by = "tests/reference/mmrm/r/make_reference.R (with refmmrm.R)",
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  r_version = R.version.string,
  platform = R.version$platform,
  blas = extSoftVersion()[["BLAS"]],
  packages = as.list(vapply(pkgs, function(p) as.character(packageVersion(p)), "")),
  convergence = paste(
    "direct: nlminb (rel.tol 1e-14, x.tol 1e-12) from a moment start, any gls/SAS start",
    "and 2 random perturbations; best run polished by Newton steps with numDeriv",
    "(Richardson) gradient/Hessian until the step is < 1e-10 or -2LL improves < 1e-11.",
    "gls: glsControl(opt = 'optim' (BFGS), msTol = 1e-14, tolerance = 1e-12, msMaxIter = 5000)",
    "and opt = 'nlminb' (tolerance = msTol = 1e-10), the better -2LL kept."
  )
)
cat("== make_reference.R", META$date, "\n")
print(META$packages)

## ---------------------------------------------------------------------------------
## Data sets (factor levels: the first level is the reference)
## ---------------------------------------------------------------------------------

DATASETS <- list(
  fev = list(
    file = "tests/reference/mmrm/fev_data.csv", subject = "USUBJID", visit = "AVISIT",
    levels = list(
      RACE = c("Asian", "Black or African American", "White"), SEX = c("Male", "Female"),
      ARMCD = c("PBO", "TRT"), AVISIT = paste0("VIS", 1:4)
    )
  ),
  cosmetic2 = list(
    file = "tests/reference/mmrm/r/cosmetic2_data.csv", subject = "SUBJID", visit = "VISIT",
    levels = list(ARM = c("VEH", "ACT"), VISIT = c("W2", "W4", "W8", "W12"))
  ),
  cosmetic3 = list(
    file = "tests/reference/mmrm/r/cosmetic3_data.csv", subject = "SUBJID", visit = "VISIT",
    levels = list(ARM = c("VEH", "LOW", "HIGH"), SEX = c("F", "M"), VISIT = c("W2", "W4", "W8", "W12"))
  ),
  bcva200 = list(
    file = "tests/reference/mmrm/r/bcva200_data.csv", subject = "USUBJID", visit = "AVISIT",
    levels = list(
      ARMCD = c("CTL", "TRT"), RACE = c("Asian", "Black", "White"),
      AVISIT = sprintf("VIS%02d", 1:10)
    )
  )
)

load_dataset <- function(name) {
  ds <- DATASETS[[name]]
  d <- read.csv(ds$file, stringsAsFactors = FALSE)
  for (v in names(ds$levels)) d[[v]] <- factor(d[[v]], levels = ds$levels[[v]])
  d[[ds$subject]] <- as.character(d[[ds$subject]])
  d
}

## ---------------------------------------------------------------------------------
## SAS PROC MIXED numbers transcribed from ../sas_reference.md (for the validation blocks)
## ---------------------------------------------------------------------------------

SAS <- list(
  `fev-intercept-ar1-ml` = list(m2ll = 3875.95352406, est = 42.3252, se = 0.5000),
  `fev-intercept-ar1-reml` = list(m2ll = 3875.49945459, est = 42.3255, se = 0.5013),
  `fev-intercept-ar1h-reml` = list(m2ll = 3739.96835012, est = 41.6955, se = 0.3947),
  `fev-intercept-cs-ml` = list(m2ll = 3918.12214544, est = 42.2897, se = 0.4273),
  `fev-intercept-cs-reml` = list(m2ll = 3917.98183508, est = 42.2896, se = 0.4285),
  `fev-intercept-csh-reml` = list(m2ll = 3784.85341599, est = 41.9964, se = 0.3575),
  `fev-intercept-toep-reml` = list(m2ll = 3856.68995273, est = 42.3721, se = 0.4684),
  `fev-intercept-toeph-reml` = list(m2ll = 3722.38018329, est = 41.6726, se = 0.3822),
  `fev-intercept-adh-reml` = list(m2ll = 3713.49317786, est = 42.9009, se = 0.3529),
  `fev-intercept-adh-byARMCD-reml` = list(m2ll = 3688.84024388, est = 42.5293, se = 0.3349),
  `fev-intercept-toeph-byARMCD-reml` = list(m2ll = 3704.49921127, est = 41.4766, se = 0.3563),
  `fev-intercept-us-ml` = list(m2ll = 3700.68707570, est = 42.8367, se = 0.3499),
  `fev-intercept-us-reml` = list(m2ll = 3700.94648570, est = 42.8338, se = 0.3509, df = 171),
  `fev-main-us-reml` = list(
    m2ll = 3386.44987722,
    est = c(30.7774, 1.5305, 5.6436, 0.3262, 3.7745, 4.8396, 10.3422, 15.0537, -0.04231, -0.6939, 0.6240),
    se = c(0.8865, 0.6244, 0.6656, 0.5319, 1.0741, 0.8016, 0.8227, 1.3129, 1.1292, 1.1876, 1.8510),
    df = c(219, 169, 157, 166, 146, 144, 156, 138, 139, 158, 130),
    lsm_est = c(33.3318, 37.1063, 38.1715, 41.9037, 43.6740, 46.7546, 48.3855, 52.7841),
    lsm_se = c(0.7554, 0.7626, 0.6117, 0.6023, 0.4617, 0.5086, 1.1886, 1.1877),
    lsm_df = c(148, 143, 147, 144, 130, 130, 134, 133),
    diff_est = c(3.7745, 3.7322, 3.0806, 4.3985), diff_se = c(1.0741, 0.8588, 0.6896, 1.6805),
    diff_df = c(146, 145, 131, 133)
  ),
  `fev-main-us-ml` = list(
    m2ll = 3397.57220025,
    est = c(30.7748, 1.5361, 5.6436, 0.3275, 3.7751, 4.8376, 10.3459, 15.0480, -0.03937, -0.6923, 0.6250),
    se = c(0.8767, 0.6146, 0.6548, 0.5235, 1.0641, 0.7948, 0.8156, 1.3027, 1.1195, 1.1773, 1.8367),
    df = c(222, 173, 161, 171, 148, 146, 158, 140, 141, 161, 131)
  ),
  `fev-armcd_sex-us-reml` = list(
    est = c(41.0762, 3.8265, -0.1404), se = c(0.5504, 0.6421, 0.6434), df = c(156, 161, 161),
    conf_low = c(39.9890, 2.5584, -1.4108), conf_high = c(42.1634, 5.0945, 1.1301)
  ),
  `fev-armcd_sex-us-ml` = list(conf_low = c(40.0071, 2.5714, -1.3968), conf_high = c(42.1609, 5.0838, 1.1204)),
  `fev-weighted-us-reml` = list(
    lsm_est = c(33.37, 36.77, 38.24, 41.66, 43.42, 46.82, 48.17, 52.43),
    lsm_se = c(0.772, 0.776, 0.617, 0.585, 0.468, 0.543, 1.163, 1.226)
  )
)
# DDFM=KR / KR(LINEAR) for FEV1 ~ ARMCD, contrast TRT - PBO (sas_reference.md section 5).
SAS_KR <- list(
  us = c(3.81972492174648, 0.66124382270307, 0.66124382270307, 160.733266403768),
  ar1 = c(4.22574315817874, 0.95865439662225, 0.96058142305176, 188.46934887972),
  ar1h = c(NA, 0.7590316099633, 0.75924807546934, 188.225339095373),
  cs = c(NA, 0.7965, 0.7964696053595, 177.038485931223),
  csh = c(NA, 0.67414806011886, 0.67403858183242, 190.737701349941),
  adh = c(NA, 0.66172017349971, 0.66158550758897, 162.393385281755),
  toep = c(NA, 0.87839805519623, 0.87839805519623, 160.027408337368),
  toeph = c(NA, 0.72543828853831, 0.72537324518435, 180.062730071701)
)
for (s in names(SAS_KR)) {
  SAS[[paste0("fev-armcd-", s, "-reml")]] <- list(
    kr_est = SAS_KR[[s]][1], kr_se = SAS_KR[[s]][2], kr_linear_se = SAS_KR[[s]][3], kr_df = SAS_KR[[s]][4]
  )
}

## ---------------------------------------------------------------------------------
## Models and cases
## ---------------------------------------------------------------------------------

`%||%` <- function(a, b) if (is.null(a)) b else a

ALL9 <- c("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "ad", "adh")
GLS_STRUCTS <- c("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph")

MODELS <- list(
  list(
    dataset = "fev", model = "main", formula = "FEV1 ~ RACE + SEX + ARMCD * AVISIT",
    arm = "ARMCD", by = "AVISIT", structures = ALL9, methods = c("reml", "ml"),
    grouped = list(us = c("reml", "ml"), adh = "reml", toeph = "reml")
  ),
  list(
    dataset = "fev", model = "weighted", formula = "FEV1 ~ RACE + SEX + ARMCD * AVISIT",
    arm = "ARMCD", by = "AVISIT", structures = c("us", "ar1"), methods = c("reml", "ml"), weights = "WEIGHT"
  ),
  list(
    dataset = "fev", model = "intercept", formula = "FEV1 ~ 1", arm = NULL, by = NULL,
    structures = ALL9, methods = c("reml", "ml"), grouped = list(adh = "reml", toeph = "reml")
  ),
  list(
    dataset = "fev", model = "armcd", formula = "FEV1 ~ ARMCD", arm = "ARMCD", by = NULL,
    structures = ALL9, methods = "reml"
  ),
  list(
    dataset = "fev", model = "armcd_sex", formula = "FEV1 ~ ARMCD + SEX", arm = "ARMCD", by = NULL,
    structures = "us", methods = c("reml", "ml")
  ),
  list(
    dataset = "cosmetic2", model = "main", formula = "CHG ~ BASE + ARM * VISIT",
    arm = "ARM", by = "VISIT", structures = ALL9, methods = c("reml", "ml"),
    grouped = list(us = "reml", ar1h = "reml", cs = "ml")
  ),
  list(
    dataset = "cosmetic3", model = "main", formula = "CHG ~ BASE + SEX + ARM * VISIT",
    arm = "ARM", by = "VISIT", structures = ALL9, methods = c("reml", "ml"),
    grouped = list(csh = "reml", ar1 = "reml")
  ),
  list(
    dataset = "bcva200", model = "main", formula = "BCVA_CHG ~ BCVA_BL + RACE + ARMCD * AVISIT",
    arm = "ARMCD", by = "AVISIT", structures = ALL9, methods = c("reml", "ml")
  )
)

expand_cases <- function(models) {
  cases <- list()
  for (mdl in models) {
    add <- function(structure, method, group) {
      id <- paste(c(mdl$dataset, mdl$model, structure, if (!is.null(group)) paste0("by", group), method), collapse = "-")
      cases[[id]] <<- c(mdl, list(id = id, structure = structure, method = method, group = group))
    }
    for (s in mdl$structures) for (me in mdl$methods) add(s, me, NULL)
    for (s in names(mdl$grouped)) for (me in mdl$grouped[[s]]) add(s, me, mdl$arm %||% "ARMCD")
  }
  cases
}

## ---------------------------------------------------------------------------------
## Helpers
## ---------------------------------------------------------------------------------

rel_diff <- function(a, b, floor = 1e-8) max(abs(a - b) / pmax(abs(b), floor))
# max |a - b| / max(1e-4 |b|, 1e-5): <= 1 means "equal at the tests' tolerance for estimates".
tol_ratio <- function(a, b) max(abs(a - b) / pmax(1e-4 * abs(b), 1e-5))

l_as_terms <- function(L, terms) {
  lapply(seq_len(nrow(L)), function(i) {
    nz <- which(abs(L[i, ]) > 0)
    as.list(setNames(L[i, nz], terms[nz]))
  })
}

emm_design <- function(case, d) {
  # LS-means / contrast coefficient rows from emmeans on an lm with the same design
  # (the rows depend only on the design: covariates at their mean over the analysed
  # rows, other factors averaged with equal weights).
  if (is.null(case$arm)) {
    return(NULL)
  }
  specs <- if (is.null(case$by)) as.formula(paste("~", case$arm)) else as.formula(paste("~", case$arm, "|", case$by))
  e <- emmeans(lm(as.formula(case$formula), data = d), specs)
  cc <- contrast(e, "revpairwise")
  parts <- strsplit(as.character(cc@grid$contrast), " - ", fixed = TRUE)
  cgrid <- data.frame(
    level = vapply(parts, `[`, "", 1), reference = vapply(parts, `[`, "", 2),
    stringsAsFactors = FALSE
  )
  if (!is.null(case$by)) cgrid[[case$by]] <- as.character(cc@grid[[case$by]])
  lgrid <- data.frame(lapply(e@grid[c(case$arm, case$by)], as.character), stringsAsFactors = FALSE)
  covs <- e@grid[setdiff(names(e@grid), c(case$arm, case$by, ".wgt."))]
  list(specs = specs, L = e@linfct, grid = lgrid, Lc = cc@linfct, cgrid = cgrid, covariate_means = as.list(covs[1, , drop = FALSE]))
}

wald_specs <- function(case, terms, des) {
  tests <- list()
  inter <- grep(":", terms, fixed = TRUE)
  if (length(inter) > 0) {
    L <- diag(length(terms))[inter, , drop = FALSE]
    tests[["interaction"]] <- list(description = "all arm-by-visit interaction coefficients = 0", L = L)
  }
  if (!is.null(des)) {
    lev <- DATASETS[[case$dataset]]$levels
    sel <- des$cgrid$reference == lev[[case$arm]][1]
    nm <- "arms_vs_reference"
    if (!is.null(case$by)) {
      sel <- sel & des$cgrid[[case$by]] == tail(lev[[case$by]], 1)
      nm <- "arms_vs_reference_last_visit"
    }
    tests[[nm]] <- list(
      description = "every arm minus the reference arm (at the last visit) = 0, LS-mean differences",
      L = des$Lc[which(sel), , drop = FALSE]
    )
  }
  if (!is.null(case$arm)) {
    armcols <- grep(paste0("(^|:)", case$arm), terms)
    if (length(armcols) > 1) {
      tests[["all_arm_terms"]] <- list(
        description = "every coefficient involving the arm = 0",
        L = diag(length(terms))[armcols, , drop = FALSE]
      )
    }
  }
  tests
}

## ---------------------------------------------------------------------------------
## nlme::gls fit and emmeans
## ---------------------------------------------------------------------------------

gls_call <- function(case, m) {
  vis <- DATASETS[[case$dataset]]$visit
  cor <- switch(case$structure,
    us = "corSymm(form = ~ VIDX | SUBJ)",
    cs = ,
    csh = "corCompSymm(form = ~ 1 | SUBJ)",
    ar1 = ,
    ar1h = "corAR1(form = ~ VIDX | SUBJ)",
    toep = ,
    toeph = sprintf("corARMA(form = ~ VIDX | SUBJ, p = %d, q = 0)", m - 1)
  )
  het <- case$structure %in% c("us", "csh", "ar1h", "toeph")
  vf <- if (het) sprintf("varIdent(form = ~ 1 | %s)", vis) else NULL
  if (!is.null(case$weights)) {
    vf <- if (is.null(vf)) "varFixed(~ INVW)" else sprintf("varComb(%s, varFixed(~ INVW))", vf)
  }
  sprintf(
    "gls(%s, data = .gls_data, correlation = %s,%s method = \"%s\", control = CTL)",
    case$formula, cor, if (is.null(vf)) "" else paste0(" weights = ", vf, ","), toupper(case$method)
  )
}

fit_gls <- function(case, d, m) {
  vis <- DATASETS[[case$dataset]]$visit
  subj <- DATASETS[[case$dataset]]$subject
  d <- d[order(d[[subj]], as.integer(d[[vis]])), ]
  d$SUBJ <- factor(d[[subj]], levels = unique(d[[subj]]))
  d$VIDX <- as.integer(d[[vis]])
  if (!is.null(case$weights)) d$INVW <- 1 / d[[case$weights]]
  assign(".gls_data", d, envir = globalenv())
  call_txt <- gls_call(case, m)
  ctls <- list(
    optim = glsControl(tolerance = 1e-12, msTol = 1e-14, msMaxIter = 5000, maxIter = 500, opt = "optim", natural = FALSE),
    nlminb = glsControl(tolerance = 1e-10, msTol = 1e-10, msMaxIter = 500, maxIter = 500, opt = "nlminb", natural = FALSE)
  )
  fits <- lapply(ctls, function(ctl) {
    tryCatch(eval(parse(text = sub("CTL", "ctl", call_txt, fixed = TRUE))), error = function(e) e)
  })
  ok <- !vapply(fits, inherits, TRUE, "error")
  if (!any(ok)) {
    return(list(error = conditionMessage(fits[[1]]), call = call_txt))
  }
  ll <- vapply(fits, function(f) if (inherits(f, "error")) -Inf else as.numeric(logLik(f)), 0)
  g <- fits[[which.max(ll)]]
  list(fit = g, opt = names(ctls)[which.max(ll)], call = call_txt, data = d, all_m2ll = -2 * ll)
}

gls_full_cov <- function(g, case, d, m) {
  # Reconstruct the visits x visits covariance from the modelStruct.
  vis <- DATASETS[[case$dataset]]$visit
  cnt <- table(g$groups)
  full <- names(cnt)[cnt == m]
  if (length(full) == 0) {
    return(NULL)
  }
  S <- unclass(getVarCov(g, individual = full[1]))
  if (!is.null(case$weights)) {
    w <- d[[case$weights]][as.character(d$SUBJ) == full[1]]
    S <- diag(sqrt(w)) %*% S %*% diag(sqrt(w))
  }
  dimnames(S) <- list(levels(d[[vis]]), levels(d[[vis]]))
  S
}

gls_precise_A <- function(g, case) {
  # Covariance of nlme's variance parameters (unconstrained coef(modelStruct), log sigma)
  # from a Richardson numDeriv Hessian of the log-likelihood nlme's apVar uses.
  st <- g$modelStruct
  cl <- g
  class(cl) <- class(st)
  f <- as.formula(case$formula)
  cl$Xy <- cbind(model.matrix(f, .gls_data), model.response(model.frame(f, .gls_data)))
  cl$fixedSigma <- FALSE
  dims <- g$dims
  N <- dims$N - dims$REML * dims$p
  pars <- c(coef(st), lSigma = log(g$sigma))
  ll <- function(p) nlme:::glsApVar.fullGlsLogLik(p, st, cl, dims, N)
  solve(-numDeriv::hessian(ll, pars))
}

gls_block <- function(case, d, m, des, direct) {
  r <- fit_gls(case, d, m)
  if (!is.null(r$error)) {
    return(list(call = r$call, error = r$error))
  }
  g <- r$fit
  terms <- names(coef(g))
  S <- gls_full_cov(g, case, r$data, m)
  blk <- list(
    call = r$call, optimizer_kept = r$opt, neg2loglik_by_optimizer = as.list(r$all_m2ll),
    neg2loglik = -2 * as.numeric(logLik(g)),
    coefficients = data.frame(term = terms, estimate = unname(coef(g)), std_error = unname(sqrt(diag(vcov(g))))),
    covariance = if (is.null(S)) NULL else list(visits = rownames(S), matrix = unname(S))
  )
  # nlme reports sigma^2 = RSS / (N - p) even for ML fits, so vcov() of an ML gls fit is
  # N / (N - p) times the ML covariance (X' V^-1 X)^-1 that SAS PROC MIXED and mmrm report.
  blk$gls_ml_vcov_factor <- if (case$method == "ml") g$dims$N / (g$dims$N - g$dims$p) else 1
  blk$coefficients$std_error_ml_rescaled <- blk$coefficients$std_error / sqrt(blk$gls_ml_vcov_factor)
  # emmeans with Satterthwaite df: emmeans' numerical gradient of vcov(beta) (numDeriv) with
  # (a) nlme's apVar (finite-difference Hessian, fdHess): "df_emmeans_apvar"; and
  # (b) the inverse of a numDeriv (Richardson) Hessian of nlme's own log-likelihood
  #     (nlme:::glsApVar.fullGlsLogLik, the function apVar differentiates): "df".
  em <- tryCatch(
    {
      A <- gls_precise_A(g, case)
      blk$apvar_positive_definite <- is.matrix(g$apVar)
      if (!is.matrix(g$apVar)) {
        # nlme's apVar is "Non-positive definite approximate variance-covariance" (its
        # finite-difference Hessian; happens for us with 10 visits): emmeans would then
        # silently use df = N - p - q. Give emmeans the Richardson version instead.
        g$apVar <- structure(A, Pars = c(coef(g$modelStruct), lSigma = log(g$sigma)))
      }
      rg <- ref_grid(g, mode = "satterthwaite", data = .gls_data)
      blk$emmeans_df_mode <- attr(rg@dffun, "mesg")
      rgp <- rg
      rgp@dfargs$A <- A
      if (case$method == "ml") {
        # gls scales vcov(beta) of an ML fit by N / (N - p) (see gls_ml_vcov_factor); undo it
        # in the df computation (V and the log-sigma gradient 2 V) so that the df refer to the
        # ML covariance SAS and mmrm use.
        nG <- length(rgp@dfargs$G)
        rgp@dfargs$V <- rgp@dfargs$V / blk$gls_ml_vcov_factor
        rgp@dfargs$G[[nG]] <- rgp@dfargs$G[[nG]] / blk$gls_ml_vcov_factor
      }
      coef_df <- function(r) vapply(seq_along(terms), function(j) r@dffun(diag(length(terms))[j, ], r@dfargs), 0)
      blk$coefficients$df <- coef_df(rgp)
      blk$coefficients$df_emmeans_apvar <- if (blk$apvar_positive_definite) coef_df(rg) else NA
      if (!is.null(des)) {
        e <- summary(emmeans(rg, des$specs))
        ep <- summary(emmeans(rgp, des$specs))
        cc <- summary(contrast(emmeans(rg, des$specs), "revpairwise"))
        ccp <- summary(contrast(emmeans(rgp, des$specs), "revpairwise"))
        sf <- sqrt(blk$gls_ml_vcov_factor)
        na_if <- function(x) if (blk$apvar_positive_definite) x else NA
        blk$lsmeans <- cbind(des$grid, estimate = ep$emmean, std_error = ep$SE / sf, df = ep$df, df_emmeans_apvar = na_if(e$df))
        blk$contrasts <- cbind(des$cgrid, estimate = ccp$estimate, std_error = ccp$SE / sf, df = ccp$df, df_emmeans_apvar = na_if(cc$df))
      }
      NULL
    },
    error = function(e) conditionMessage(e)
  )
  if (!is.null(em)) blk$emmeans_error <- em
  # Agreement with the direct fit.
  ag <- list(
    neg2loglik_rel = abs(blk$neg2loglik - direct$neg2loglik) / abs(direct$neg2loglik),
    neg2loglik_gls_minus_direct = blk$neg2loglik - direct$neg2loglik,
    estimate_max_abs = max(abs(blk$coefficients$estimate - direct$coefficients$estimate)),
    estimate_tolerance_ratio = tol_ratio(blk$coefficients$estimate, direct$coefficients$estimate),
    std_error_max_rel = rel_diff(blk$coefficients$std_error_ml_rescaled, direct$coefficients$std_error)
  )
  if (!is.null(S) && is.null(case$group)) ag$covariance_max_rel <- max(abs(S - direct$covariance$matrix)) / max(abs(direct$covariance$matrix))
  sat_ok <- identical(blk$emmeans_df_mode, "satterthwaite")
  if (sat_ok && !is.null(blk$coefficients$df)) {
    ag$coefficient_df_max_rel <- rel_diff(blk$coefficients$df, direct$coefficients$df)
    ag$coefficient_df_emmeans_apvar_max_rel <- rel_diff(blk$coefficients$df_emmeans_apvar, direct$coefficients$df)
    if (!blk$apvar_positive_definite) ag$coefficient_df_emmeans_apvar_max_rel <- NULL
  }
  if (sat_ok && !is.null(blk$lsmeans)) {
    ag$lsmean_estimate_tolerance_ratio <- tol_ratio(blk$lsmeans$estimate, direct$lsmeans$estimate)
    ag$lsmean_std_error_max_rel <- rel_diff(blk$lsmeans$std_error, direct$lsmeans$std_error)
    ag$lsmean_df_max_rel <- rel_diff(blk$lsmeans$df, direct$lsmeans$df)
    ag$lsmean_df_emmeans_apvar_max_rel <- if (blk$apvar_positive_definite) rel_diff(blk$lsmeans$df_emmeans_apvar, direct$lsmeans$df)
    ag$contrast_estimate_tolerance_ratio <- tol_ratio(blk$contrasts$estimate, direct$contrasts$estimate)
    ag$contrast_std_error_max_rel <- rel_diff(blk$contrasts$std_error, direct$contrasts$std_error)
    ag$contrast_df_max_rel <- rel_diff(blk$contrasts$df, direct$contrasts$df)
    ag$contrast_df_emmeans_apvar_max_rel <- if (blk$apvar_positive_definite) rel_diff(blk$contrasts$df_emmeans_apvar, direct$contrasts$df)
  }
  blk$agreement_with_direct <- ag
  blk
}

## ---------------------------------------------------------------------------------
## Direct fit -> reference values
## ---------------------------------------------------------------------------------

one_d <- function(fit, L, grid) {
  res <- t(vapply(seq_len(nrow(L)), function(i) unlist(rm_sat_1d(fit, L[i, ])), numeric(3)))
  out <- cbind(grid, as.data.frame(res))
  out$statistic <- out$estimate / out$std_error
  out$p_value <- 2 * pt(-abs(out$statistic), out$df)
  out
}

kr_block <- function(fit, comp, des, tests, terms) {
  res <- list()
  for (variant in c("kenward_roger", "kenward_roger_linear")) {
    lin <- variant == "kenward_roger_linear"
    PhiA <- rm_kr_vcov(fit, comp, fit$W_obs, linear = lin)
    one <- function(L, grid) {
      dfs <- vapply(seq_len(nrow(L)), function(i) rm_kr_df(fit, comp, fit$W_obs, L[i, ])$df, 0)
      o <- cbind(grid, estimate = drop(L %*% fit$beta), std_error = sqrt(pmax(rowSums((L %*% PhiA) * L), 0)), df = dfs)
      o$statistic <- o$estimate / o$std_error
      o$p_value <- 2 * pt(-abs(o$statistic), o$df)
      o
    }
    blk <- list(vcov = unname(PhiA), coefficients = one(diag(length(terms)), data.frame(term = terms)))
    if (!is.null(des)) {
      blk$lsmeans <- one(des$L, des$grid)
      blk$contrasts <- one(des$Lc, des$cgrid)
    }
    blk$wald_tests <- lapply(tests, function(tt) {
      r <- rm_kr_test(fit, comp, fit$W_obs, PhiA, tt$L)
      list(num_df = r$num_df, denom_df = r$denom_df, f_stat = r$f_scaled, f_stat_unscaled = r$f_stat, lambda = r$lambda, p_value = pf(r$f_scaled, r$num_df, r$denom_df, lower.tail = FALSE))
    })
    res[[variant]] <- blk
  }
  res$notes <- paste(
    "W = observed information (2 x inverse Hessian of -2 REML logLik in SAS's covariance",
    "parameters, as SAS PROC MIXED and mmrm). kenward_roger keeps the second-derivative term",
    "R_ij in SAS's parameterisation (= SAS DDFM=KR); kenward_roger_linear drops it (= SAS",
    "DDFM=KR(LINEAR) = mmrm 'Kenward-Roger-Linear'; parameterisation-free). For 1-d",
    "contrasts the KR df equals the Satterthwaite df. f_stat is the scaled F* = lambda F."
  )
  res
}

run_case <- function(case) {
  t0 <- proc.time()[["elapsed"]]
  ds <- DATASETS[[case$dataset]]
  d0 <- load_dataset(case$dataset)
  dat <- rm_data(d0, case$formula, ds$subject, ds$visit, group = case$group, weights = case$weights)
  d <- dat$data
  m <- dat$m
  terms <- colnames(dat$X)
  des <- emm_design(case, d)
  # Starting values from a gls fit of the same structure (if any) help the optimiser;
  # the result never depends on them (several starts, the best -2LL is kept).
  fit <- rm_fit(dat, case$structure, case$method, n_random = if (m > 6) 1 else 2)
  fit <- rm_inference(fit)
  tests <- wald_specs(case, terms, des)
  coefs <- one_d(fit, diag(length(terms)), data.frame(term = terms))
  cov_out <- function(S) list(visits = dat$visits, matrix = unname(S))
  psi_names <- fit$st$nat_names()
  ref <- list(
    id = case$id,
    dataset = list(
      name = case$dataset, file = ds$file, md5 = unname(tools::md5sum(ds$file)), levels = ds$levels,
      n_rows_file = nrow(d0), n_obs = dat$n, n_subjects = dat$n_subjects,
      n_rows_excluded = nrow(d0) - dat$n
    ),
    model = list(
      formula = case$formula, subject = ds$subject, visit = ds$visit, covariance = case$structure,
      method = case$method, group = case$group, weights = case$weights,
      lsmeans_specs = if (is.null(des)) NULL else paste(deparse(des$specs), collapse = "")
    ),
    meta = META,
    r_call_direct = sprintf(
      "rm_inference(rm_fit(rm_data(data, %s, \"%s\", \"%s\"%s%s), \"%s\", \"%s\"))",
      case$formula, ds$subject, ds$visit,
      if (is.null(case$group)) "" else sprintf(", group = \"%s\"", case$group),
      if (is.null(case$weights)) "" else sprintf(", weights = \"%s\"", case$weights),
      case$structure, case$method
    ),
    convergence = fit$convergence,
    neg2loglik = fit$m2ll,
    coefficients = coefs,
    covariance = if (is.null(case$group)) cov_out(fit$sigma[[1]]) else list(groups = lapply(fit$sigma, cov_out)),
    covariance_parameters = data.frame(
      group = rep(dat$groups, each = length(psi_names)), name = rep(psi_names, dat$G), value = fit$psi
    ),
    vcov = unname(fit$Phi)
  )
  if (!is.null(des)) {
    ref$lsmeans <- one_d(fit, des$L, des$grid)
    ref$lsmeans_covariate_means <- des$covariate_means
    ref$contrasts <- one_d(fit, des$Lc, des$cgrid)
  }
  ref$wald_tests <- lapply(names(tests), function(nm) {
    tt <- tests[[nm]]
    s <- rm_sat_md(fit, tt$L)
    list(
      name = nm, description = tt$description, L = l_as_terms(tt$L, terms),
      satterthwaite = list(num_df = s$num_df, denom_df = s$denom_df, f_stat = s$f_stat, p_value = pf(s$f_stat, s$num_df, s$denom_df, lower.tail = FALSE))
    )
  })
  if (case$method == "reml") {
    comp <- rm_kr_components(fit)
    kr <- kr_block(fit, comp, des, tests, terms)
    for (i in seq_along(ref$wald_tests)) {
      ref$wald_tests[[i]]$kenward_roger <- kr$kenward_roger$wald_tests[[i]]
      ref$wald_tests[[i]]$kenward_roger_linear <- kr$kenward_roger_linear$wald_tests[[i]]
    }
    kr$kenward_roger$wald_tests <- NULL
    kr$kenward_roger_linear$wald_tests <- NULL
    ref$kenward_roger <- kr
    ref$kenward_roger$expected_information_variant <- list(
      description = "same, W from the expected information (pbkrtest's choice), for comparison only",
      coefficients_std_error = sqrt(diag(rm_kr_vcov(fit, comp, comp$W_exp, FALSE))),
      coefficients_df = vapply(seq_along(terms), function(j) rm_kr_df(fit, comp, comp$W_exp, diag(length(terms))[j, ])$df, 0)
    )
  }
  if (is.null(case$group) && case$structure %in% GLS_STRUCTS) {
    ref$gls <- gls_block(case, d, m, des, ref)
  }
  if (!is.null(SAS[[case$id]])) ref$sas <- sas_block(SAS[[case$id]], ref, fit, case)
  ref$seconds <- proc.time()[["elapsed"]] - t0
  ref
}

sas_block <- function(s, ref, fit, case) {
  b <- list(source = "tests/reference/mmrm/sas_reference.md (SAS 9.4 PROC MIXED listings in openpharma/mmrm design/SAS)", values = s)
  diffs <- list()
  if (!is.null(s$m2ll)) diffs$neg2loglik_direct_minus_sas <- ref$neg2loglik - s$m2ll
  if (!is.null(s$est)) diffs$estimate_max_abs <- max(abs(ref$coefficients$estimate - s$est))
  if (!is.null(s$se)) diffs$std_error_max_abs <- max(abs(ref$coefficients$std_error - s$se))
  if (!is.null(s$df)) diffs$df_max_abs_vs_rounded <- max(abs(ref$coefficients$df - s$df))
  if (!is.null(s$lsm_est)) {
    diffs$lsmean_max_abs <- max(abs(ref$lsmeans$estimate - s$lsm_est))
    diffs$lsmean_se_max_abs <- max(abs(ref$lsmeans$std_error - s$lsm_se))
  }
  if (!is.null(s$lsm_df)) diffs$lsmean_df_max_abs_vs_rounded <- max(abs(ref$lsmeans$df - s$lsm_df))
  if (!is.null(s$diff_est)) {
    diffs$contrast_max_abs <- max(abs(ref$contrasts$estimate - s$diff_est))
    diffs$contrast_se_max_abs <- max(abs(ref$contrasts$std_error - s$diff_se))
    diffs$contrast_df_max_abs_vs_rounded <- max(abs(ref$contrasts$df - s$diff_df))
  }
  if (!is.null(s$conf_low)) {
    q <- qt(0.975, ref$coefficients$df)
    diffs$conf_low_max_abs <- max(abs(ref$coefficients$estimate - q * ref$coefficients$std_error - s$conf_low))
    diffs$conf_high_max_abs <- max(abs(ref$coefficients$estimate + q * ref$coefficients$std_error - s$conf_high))
  }
  if (!is.null(s$kr_se)) {
    kr <- ref$kenward_roger
    j <- 2
    if (!is.na(s$kr_est)) diffs$kr_estimate_rel <- ref$coefficients$estimate[j] / s$kr_est - 1
    diffs$kr_std_error_rel <- kr$kenward_roger$coefficients$std_error[j] / s$kr_se - 1
    diffs$kr_linear_std_error_rel <- kr$kenward_roger_linear$coefficients$std_error[j] / s$kr_linear_se - 1
    diffs$kr_df_rel <- kr$kenward_roger$coefficients$df[j] / s$kr_df - 1
  }
  b$direct_minus_sas <- diffs
  b
}

## ---------------------------------------------------------------------------------
## Run
## ---------------------------------------------------------------------------------

write_case <- function(ref) {
  path <- file.path(out, "cases", paste0(ref$id, ".json"))
  tmp <- paste0(path, ".tmp")
  write_json(ref, tmp, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null", dataframe = "rows")
  file.rename(tmp, path)
}

# Arguments: none = every case, then validation; "<regex>" = only matching cases (no
# index/validation); "--validate-only" = validation from the existing case files.
args <- commandArgs(trailingOnly = TRUE)
cases <- expand_cases(MODELS)
if (length(args) > 0) cases <- cases[grepl(args[1], names(cases))]
if (identical(args, "--validate-only")) cases <- list()
for (case in cases) {
  ref <- tryCatch(run_case(case), error = function(e) {
    cat("!! FAILED", case$id, conditionMessage(e), "\n")
    NULL
  })
  if (is.null(ref)) next
  write_case(ref)
  ag <- ref$gls$agreement_with_direct
  cat(sprintf(
    "%-34s -2LL %.8f  n=%d/%d  grad %.1e  starts at opt %d/%d  %5.1fs%s%s\n", ref$id, ref$neg2loglik, ref$dataset$n_obs,
    ref$dataset$n_subjects, ref$convergence$max_abs_gradient_theta,
    sum(unlist(ref$convergence$start_objectives) - ref$neg2loglik < 1e-6), length(ref$convergence$start_objectives), ref$seconds,
    if (is.null(ag)) "" else sprintf(
      "  gls: d-2LL %+.1e est %.1e se %.1e df %.1e (apVar %.1e) lsm df %.1e (%.1e)", ag$neg2loglik_gls_minus_direct,
      ag$estimate_tolerance_ratio, ag$std_error_max_rel, ag$coefficient_df_max_rel %||% NA,
      ag$coefficient_df_emmeans_apvar_max_rel %||% NA, ag$lsmean_df_max_rel %||% NA, ag$lsmean_df_emmeans_apvar_max_rel %||% NA
    ),
    if (!is.null(ref$gls$error)) paste("  gls error:", ref$gls$error) else ""
  ))
  if (!is.null(ref$sas)) {
    cat("   SAS:", paste(sprintf("%s=%.3g", names(ref$sas$direct_minus_sas), unlist(ref$sas$direct_minus_sas)), collapse = " "), "\n")
  }
}
# The index lists every case file present (so a partial rerun keeps it complete).
index <- lapply(sort(list.files(file.path(out, "cases"), pattern = "[.]json$", full.names = TRUE)), function(f) {
  r <- fromJSON(f, simplifyVector = FALSE)
  list(
    id = r$id, file = paste0("cases/", basename(f)), dataset = r$dataset$name,
    formula = r$model$formula, covariance = r$model$covariance, method = r$model$method,
    group = r$model$group, weights = r$model$weights, has_gls = !is.null(r$gls$neg2loglik),
    has_sas = !is.null(r$sas), r_date = r$meta$date
  )
})
write_json(list(meta = META, cases = index), file.path(out, "index.json"),
  auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"
)
if (length(args) == 0 || identical(args, "--validate-only")) source(file.path(out, "validate_reference.R"))
cat("\n== sessionInfo()\n")
print(sessionInfo())
