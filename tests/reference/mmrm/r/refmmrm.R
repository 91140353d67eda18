## refmmrm.R: a small, generic direct-likelihood MMRM fitter, written ONLY to produce
## reference values for the efficacy test-suite (it is not part of the package).
##
## Model (one row per subject and visit, rows with a missing value excluded):
##   y_i ~ N(X_i beta, V_i),  V_i = W_i^{-1/2} Sigma_g[v_i, v_i] W_i^{-1/2}
## v_i = the visits subject i was observed at, g = the subject's covariance group (one
## group unless `group` is given), W_i = diag(weights) (identity without weights, as
## SAS's WEIGHT statement).
##
## -2 log-likelihood, SAS PROC MIXED / R mmrm / nlme conventions (n observations, p = rank X):
##   ML  : n log(2 pi)     + sum_i log|V_i| + r' V^-1 r
##   REML: (n-p) log(2 pi) + sum_i log|V_i| + log|X' V^-1 X| + r' V^-1 r
## with r = y - X beta_hat(theta) and beta_hat the GLS estimate (profiled out).
##
## Covariance structures (mmrm's names). Each has two parameterisations:
##   theta: unconstrained, used by the optimiser;
##   psi  : SAS PROC MIXED's parameters (used for the Hessian, Satterthwaite and
##          Kenward-Roger; the Kenward-Roger second-derivative term depends on it).
##   us    psi = lower triangle of Sigma, column-major        (SAS UN, linear)
##   cs    psi = (between-subject covariance, residual var)   (SAS CS, linear)
##   csh   psi = (var_1..var_m, rho)                          (SAS CSH)
##   ar1   psi = (var, rho), corr rho^|i-j| (visit index)     (SAS AR(1))
##   ar1h  psi = (var_1..var_m, rho)                          (SAS ARH(1))
##   toep  psi = (var, cov_lag1..cov_lag(m-1))                (SAS TOEP, linear)
##   toeph psi = (var_1..var_m, corr_lag1..corr_lag(m-1))     (SAS TOEPH)
##   ad    psi = (var, rho_1..rho_(m-1)), corr(i,j) = prod_{k=i}^{j-1} rho_k (mmrm "ad")
##   adh   psi = (var_1..var_m, rho_1..rho_(m-1))             (SAS ANTE(1))
## Grouped covariance: one independent psi block per group level (SAS GROUP=).
##
## Optimisation: nlminb (PORT) from several starting points, then Newton polishing with
## numDeriv (Richardson) gradient and Hessian until the Newton step is < 1e-10.
## Inference at the optimum:
##   Phi = (X' V^-1 X)^-1 (model-based covariance of beta, as gls/SAS/mmrm);
##   W   = 2 H^-1, H = numDeriv Hessian of -2 logLik (observed information), computed in
##     theta and mapped to psi by the delta method;
##   Satterthwaite df of l'beta: 2 (l' Phi l)^2 / (g' W g), g_k = l' dPhi/dtheta_k l
##     (numDeriv Jacobian of Phi); invariant to the parameterisation at the optimum;
##   Kenward-Roger (1997): Phi_A = Phi + 2 Phi [sum_kl W_kl (Q_kl - P_k Phi P_l - R_kl/4)] Phi
##     P_k = -X'V^-1 V_k V^-1 X, Q_kl = X'V^-1 V_k V^-1 V_l V^-1 X, R_kl = X'V^-1 V_kl V^-1 X,
##     derivatives of Sigma w.r.t. psi by numDeriv::genD; "linear" sets R_kl = 0 (SAS
##     DDFM=KR(LINEAR), mmrm "Kenward-Roger-Linear"); W observed (as SAS, mmrm) or
##     expected (as pbkrtest: I_kl = tr(P V_k P V_l)/2, P the REML projection).
##   KR denominator df and F scaling lambda: Kenward & Roger (1997) eqs. (with Phi
##     unadjusted in Theta = L'(L Phi L')^-1 L), as SAS / pbkrtest / mmrm.

suppressPackageStartupMessages(library(numDeriv))

# numDeriv's default Richardson settings (first step 10% of each parameter, 4 halvings) are
# the most accurate here; they are only used in the unconstrained parameters theta, where
# every step gives a valid covariance matrix.
rm_hessian <- function(f, x) numDeriv::hessian(f, x)

## ---------------------------------------------------------------------------------
## Covariance structures
## ---------------------------------------------------------------------------------

rm_pacf2acf <- function(phi) {
  # Durbin-Levinson: partial autocorrelations -> autocorrelations at lags 1..p.
  p <- length(phi)
  r <- numeric(p)
  a <- numeric(0)
  for (k in seq_len(p)) {
    if (k == 1) {
      r[1] <- phi[1]
      a <- phi[1]
    } else {
      r[k] <- sum(a * r[(k - 1):1]) + phi[k] * (1 - sum(a * r[1:(k - 1)]))
      a <- c(a - phi[k] * rev(a), phi[k])
    }
  }
  r
}

rm_acf2pacf <- function(r) {
  # Inverse of rm_pacf2acf (Durbin-Levinson recursion).
  p <- length(r)
  phi <- numeric(p)
  a <- numeric(0)
  for (k in seq_len(p)) {
    if (k == 1) {
      phi[1] <- r[1]
      a <- r[1]
    } else {
      phi[k] <- (r[k] - sum(a * r[(k - 1):1])) / (1 - sum(a * r[1:(k - 1)]))
      a <- c(a - phi[k] * rev(a), phi[k])
    }
  }
  phi
}

rm_ante_corr <- function(rho, m) {
  C <- diag(m)
  for (i in seq_len(m - 1)) for (j in (i + 1):m) C[i, j] <- C[j, i] <- prod(rho[i:(j - 1)])
  C
}

rm_struct <- function(name, m) {
  lag <- abs(outer(seq_len(m), seq_len(m), "-"))
  het <- name %in% c("csh", "ar1h", "toeph", "adh")
  nv <- if (het) m else 1
  vpart <- function(psi) psi[seq_len(nv)]
  sdmat <- function(v) {
    s <- sqrt(rep(v, length.out = m))
    outer(s, s)
  }
  clamp <- function(x, lo = -0.95, hi = 0.95) pmin(pmax(x, lo), hi)
  cs_lo <- -1 / (m - 1)
  st <- switch(name,
    us = list(
      npar = m * (m + 1) / 2,
      sigma_nat = function(psi) {
        S <- matrix(0, m, m)
        S[lower.tri(S, diag = TRUE)] <- psi
        S + t(S) - diag(diag(S), m)
      },
      to_nat = function(theta) {
        L <- matrix(0, m, m)
        L[lower.tri(L, diag = TRUE)] <- theta
        diag(L) <- exp(diag(L))
        S <- tcrossprod(L)
        S[lower.tri(S, diag = TRUE)]
      },
      from_nat = function(psi) {
        S <- matrix(0, m, m)
        S[lower.tri(S, diag = TRUE)] <- psi
        S <- S + t(S) - diag(diag(S), m)
        L <- t(chol(S))
        diag(L) <- log(diag(L))
        L[lower.tri(L, diag = TRUE)]
      },
      start_nat = function(S) {
        ev <- eigen(S, symmetric = TRUE)
        S <- ev$vectors %*% diag(pmax(ev$values, 0.05 * max(ev$values))) %*% t(ev$vectors)
        S[lower.tri(S, diag = TRUE)]
      },
      nat_names = function() {
        ij <- which(lower.tri(diag(m), diag = TRUE), arr.ind = TRUE)
        sprintf("UN(%d,%d)", ij[, 1], ij[, 2])
      }
    ),
    cs = list(
      npar = 2,
      sigma_nat = function(psi) matrix(psi[1], m, m) + diag(psi[2], m),
      to_nat = function(theta) {
        v <- exp(theta[1])
        rho <- cs_lo + (1 - cs_lo) * plogis(theta[2])
        c(rho * v, (1 - rho) * v)
      },
      from_nat = function(psi) {
        v <- sum(psi)
        rho <- psi[1] / v
        c(log(v), qlogis((rho - cs_lo) / (1 - cs_lo)))
      },
      start_nat = function(S) {
        v <- mean(diag(S))
        C <- cov2cor(S)
        rho <- clamp(mean(C[lower.tri(C)]), cs_lo / 2, 0.9)
        c(rho * v, (1 - rho) * v)
      },
      nat_names = function() c("CS", "Residual")
    ),
    list(npar = NA) # placeholder, filled below for the var/corr structures
  )
  if (!is.na(st$npar)) {
    return(c(st, list(name = name, m = m)))
  }
  # Structures of the form Sigma = sd sd' * C(kappa) (+ homogeneous variants).
  corr <- switch(name,
    csh = list(
      nk = 1, C = function(k) {
        C <- matrix(k, m, m)
        diag(C) <- 1
        C
      },
      to = function(t) cs_lo + (1 - cs_lo) * plogis(t),
      from = function(k) qlogis((k - cs_lo) / (1 - cs_lo)),
      start = function(C) clamp(mean(C[lower.tri(C)]), cs_lo / 2, 0.9),
      names = "CSH rho"
    ),
    ar1 = ,
    ar1h = list(
      nk = 1, C = function(k) k^lag, to = tanh, from = atanh,
      start = function(C) clamp(mean(C[lag == 1])), names = "AR rho"
    ),
    toep = ,
    toeph = list(
      nk = m - 1, C = function(k) toeplitz(c(1, k)),
      to = function(t) rm_pacf2acf(tanh(t)), from = function(k) atanh(rm_acf2pacf(k)),
      start = function(C) {
        r <- vapply(seq_len(m - 1), function(l) mean(C[lag == l]), 0)
        rm_pacf2acf(clamp(rm_acf2pacf(clamp(r)), -0.9, 0.9))
      },
      names = sprintf("corr lag %d", seq_len(m - 1))
    ),
    ad = ,
    adh = list(
      nk = m - 1, C = function(k) rm_ante_corr(k, m), to = tanh, from = atanh,
      start = function(C) clamp(C[cbind(1:(m - 1), 2:m)]),
      names = sprintf("rho(%d,%d)", 1:(m - 1), 2:m)
    ),
    stop("unknown covariance structure: ", name)
  )
  if (name == "toep") {
    # SAS TOEP: (variance, covariances at lags 1..m-1), linear in psi.
    st <- list(
      npar = m,
      sigma_nat = function(psi) toeplitz(psi),
      to_nat = function(theta) {
        v <- exp(2 * theta[1])
        c(v, v * corr$to(theta[-1]))
      },
      from_nat = function(psi) c(log(psi[1]) / 2, corr$from(psi[-1] / psi[1])),
      start_nat = function(S) {
        v <- mean(diag(S))
        c(v, v * corr$start(cov2cor(S)))
      },
      nat_names = function() c("Var", sprintf("cov lag %d", seq_len(m - 1)))
    )
    return(c(st, list(name = name, m = m)))
  }
  st <- list(
    npar = nv + corr$nk,
    sigma_nat = function(psi) sdmat(vpart(psi)) * corr$C(psi[-seq_len(nv)]),
    to_nat = function(theta) c(exp(2 * theta[seq_len(nv)]), corr$to(theta[-seq_len(nv)])),
    from_nat = function(psi) c(log(vpart(psi)) / 2, corr$from(psi[-seq_len(nv)])),
    start_nat = function(S) {
      v <- if (het) diag(S) else mean(diag(S))
      c(v, corr$start(cov2cor(S)))
    },
    nat_names = function() c(if (het) sprintf("Var(%d)", seq_len(m)) else "Var", corr$names)
  )
  c(st, list(name = name, m = m))
}

## ---------------------------------------------------------------------------------
## Data preparation: complete cases, sorted by subject and visit, grouped by
## (covariance group, missingness pattern).
## ---------------------------------------------------------------------------------

rm_data <- function(data, formula, subject, visit, group = NULL, weights = NULL) {
  formula <- as.formula(formula)
  vars <- unique(c(all.vars(formula), subject, visit, group, weights))
  keep <- stats::complete.cases(data[, vars, drop = FALSE])
  d <- data[keep, , drop = FALSE]
  if (!is.factor(d[[visit]])) stop("visit must be a factor")
  d <- d[order(as.character(d[[subject]]), as.integer(d[[visit]])), , drop = FALSE]
  if (anyDuplicated(paste(d[[subject]], d[[visit]]))) stop("duplicated subject/visit")
  mf <- model.frame(formula, d)
  X <- model.matrix(formula, mf)
  y <- model.response(mf)
  if (qr(X)$rank < ncol(X)) stop("rank-deficient design")
  w <- if (is.null(weights)) rep(1, nrow(d)) else d[[weights]]
  vis <- as.integer(d[[visit]])
  sid <- as.character(d[[subject]])
  glev <- if (is.null(group)) "all" else levels(droplevels(as.factor(d[[group]])))
  g <- if (is.null(group)) rep(1L, nrow(d)) else match(as.character(d[[group]]), glev)
  first <- !duplicated(sid)
  gsub <- g[first]
  if (any(g != gsub[match(sid, sid[first])])) stop("group not constant within subject")
  rows_by_subj <- split(seq_len(nrow(d)), factor(sid, levels = unique(sid)))
  key <- vapply(rows_by_subj, function(r) paste0(g[r[1]], ":", paste(vis[r], collapse = ",")), "")
  k <- ncol(X)
  wsq <- sqrt(w)
  patterns <- lapply(split(rows_by_subj, factor(key, levels = unique(key))), function(rl) {
    I <- do.call(cbind, rl)
    q <- nrow(I)
    idx <- as.vector(I)
    list(
      g = g[I[1, 1]], vis = vis[I[, 1]], n = ncol(I), q = q,
      X = matrix(X[idx, , drop = FALSE] * wsq[idx], nrow = q),
      Y = matrix(y[idx] * wsq[idx], nrow = q)
    )
  })
  list(
    data = d, X = X, y = y, k = k, n = nrow(d), n_subjects = length(rows_by_subj),
    m = nlevels(d[[visit]]), visits = levels(d[[visit]]), G = length(glev), groups = glev,
    patterns = patterns, sum_log_w = sum(log(w)), weights = w, vis = vis, g = g,
    formula = formula, subject = subject, visit = visit, group = group, wname = weights
  )
}

## ---------------------------------------------------------------------------------
## Likelihood core
## ---------------------------------------------------------------------------------

rm_core <- function(dat, sig, keep = FALSE) {
  k <- dat$k
  XtX <- matrix(0, k, k)
  Xty <- numeric(k)
  ld <- 0
  wz <- vector("list", length(dat$patterns))
  for (i in seq_along(dat$patterns)) {
    p <- dat$patterns[[i]]
    S <- sig[[p$g]][p$vis, p$vis, drop = FALSE]
    U <- tryCatch(chol(S), error = function(e) NULL)
    if (is.null(U)) {
      return(NULL)
    }
    Z <- backsolve(U, p$X, transpose = TRUE)
    z <- as.vector(backsolve(U, p$Y, transpose = TRUE))
    Zm <- matrix(Z, ncol = k)
    XtX <- XtX + crossprod(Zm)
    Xty <- Xty + drop(crossprod(Zm, z))
    ld <- ld + p$n * 2 * sum(log(diag(U)))
    wz[[i]] <- list(Zm = Zm, z = z, U = U)
  }
  R <- tryCatch(chol(XtX), error = function(e) NULL)
  if (is.null(R)) {
    return(NULL)
  }
  Phi <- chol2inv(R)
  beta <- drop(Phi %*% Xty)
  rss <- sum(vapply(wz, function(w) sum((w$z - w$Zm %*% beta)^2), 0))
  out <- list(
    beta = beta, Phi = Phi, logdet_V = ld - dat$sum_log_w,
    logdet_XVX = 2 * sum(log(diag(R))), rss = rss
  )
  if (keep) out$wz <- wz
  out
}

rm_m2ll <- function(core, dat, reml) {
  if (is.null(core)) {
    return(Inf)
  }
  if (reml) {
    (dat$n - dat$k) * log(2 * pi) + core$logdet_V + core$logdet_XVX + core$rss
  } else {
    dat$n * log(2 * pi) + core$logdet_V + core$rss
  }
}

rm_blocks <- function(st, G) split(seq_len(st$npar * G), rep(seq_len(G), each = st$npar))

rm_sig_nat <- function(st, G, psi) {
  lapply(rm_blocks(st, G), function(b) st$sigma_nat(psi[b]))
}

rm_psi <- function(st, G, theta) {
  unname(unlist(lapply(rm_blocks(st, G), function(b) st$to_nat(theta[b]))))
}

rm_theta <- function(st, G, psi) {
  unname(unlist(lapply(rm_blocks(st, G), function(b) st$from_nat(psi[b]))))
}

## ---------------------------------------------------------------------------------
## Fitting
## ---------------------------------------------------------------------------------

rm_start_sigma <- function(dat) {
  # Starting covariance per group: moments of OLS residuals (pairwise complete).
  beta <- qr.coef(qr(dat$X), dat$y)
  r <- dat$y - drop(dat$X %*% beta)
  lapply(seq_len(dat$G), function(gi) {
    S <- matrix(NA_real_, dat$m, dat$m)
    sel <- dat$g == gi
    M <- matrix(NA_real_, length(unique(dat$data[[dat$subject]][sel])), dat$m)
    sid <- factor(as.character(dat$data[[dat$subject]][sel]))
    M[cbind(as.integer(sid), dat$vis[sel])] <- r[sel]
    S <- stats::cov(M, use = "pairwise.complete.obs")
    v <- diag(S)
    v[!is.finite(v)] <- mean(v, na.rm = TRUE)
    C <- suppressWarnings(cov2cor(S))
    C[!is.finite(C)] <- 0
    diag(C) <- 1
    C[abs(C) > 0.95] <- 0.95 * sign(C[abs(C) > 0.95])
    diag(C) <- 1
    sqrt(v) * t(sqrt(v) * C)
  })
}

rm_newton <- function(f, theta, max_iter = 20, tol = 1e-10) {
  # Newton polishing with Richardson-extrapolated numerical derivatives.
  H <- rm_hessian(f, theta)
  steps <- 0
  for (it in seq_len(max_iter)) {
    g <- numDeriv::grad(f, theta)
    step <- tryCatch(solve(H, g), error = function(e) NULL)
    if (is.null(step)) break
    f0 <- f(theta)
    t <- 1
    repeat {
      cand <- theta - t * step
      if (is.finite(f(cand)) && f(cand) <= f0 + 1e-9) break
      t <- t / 2
      if (t < 1e-4) break
    }
    if (t < 1e-4) break
    theta <- cand
    steps <- steps + 1
    if (max(abs(t * step)) < tol || f0 - f(theta) < 1e-11) break
    if (it %% 4 == 0) H <- rm_hessian(f, theta)
  }
  list(theta = theta, steps = steps)
}

rm_fit <- function(dat, structure, method = c("reml", "ml"), extra_starts = list(),
                   n_random = 2, seed = 1) {
  method <- match.arg(method)
  reml <- method == "reml"
  st <- rm_struct(structure, dat$m)
  G <- dat$G
  f <- function(theta) {
    psi <- rm_psi(st, G, theta)
    if (any(!is.finite(psi))) {
      return(Inf)
    }
    rm_m2ll(rm_core(dat, rm_sig_nat(st, G, psi)), dat, reml)
  }
  S0 <- rm_start_sigma(dat)
  th0 <- unlist(lapply(S0, function(S) st$from_nat(st$start_nat(S))))
  starts <- c(list(default = th0), lapply(extra_starts, function(psi) rm_theta(st, G, psi)))
  set.seed(seed)
  for (i in seq_len(n_random)) starts[[paste0("random", i)]] <- th0 + rnorm(length(th0), sd = 0.3)
  runs <- lapply(starts, function(s) {
    if (!is.finite(f(s))) {
      return(list(objective = Inf, par = s))
    }
    o <- nlminb(s, f, control = list(eval.max = 20000, iter.max = 10000, rel.tol = 1e-14, x.tol = 1e-12))
    o
  })
  objs <- vapply(runs, function(o) o$objective, 0)
  best <- runs[[which.min(objs)]]
  pol <- rm_newton(f, best$par)
  theta <- pol$theta
  grad <- numDeriv::grad(f, theta)
  psi <- rm_psi(st, G, theta)
  core <- rm_core(dat, rm_sig_nat(st, G, psi), keep = TRUE)
  list(
    dat = dat, st = st, G = G, reml = reml, method = method, structure = structure,
    theta = theta, psi = psi, core = core, m2ll = rm_m2ll(core, dat, reml),
    beta = setNames(core$beta, colnames(dat$X)), Phi = core$Phi,
    sigma = setNames(rm_sig_nat(st, G, psi), dat$groups),
    convergence = list(
      optimizer = "nlminb (rel.tol 1e-14) from several starts, then Newton with numDeriv",
      start_objectives = as.list(objs),
      newton_steps = pol$steps,
      max_abs_gradient_theta = max(abs(grad)),
      objective = rm_m2ll(core, dat, reml)
    )
  )
}

## ---------------------------------------------------------------------------------
## Inference: Hessian in psi, Satterthwaite, Kenward-Roger
## ---------------------------------------------------------------------------------

rm_f_psi <- function(fit) {
  function(psi) rm_m2ll(rm_core(fit$dat, rm_sig_nat(fit$st, fit$G, psi)), fit$dat, fit$reml)
}

rm_inference <- function(fit) {
  # Derivatives are taken in theta (unconstrained; numDeriv's large Richardson steps stay
  # valid) and mapped to psi by the delta method: W_psi = J W_theta J', J = dpsi/dtheta
  # (exact for the inverse Hessian at a stationary point).
  st <- fit$st
  G <- fit$G
  dat <- fit$dat
  k <- dat$k
  f <- function(theta) rm_m2ll(rm_core(dat, rm_sig_nat(st, G, rm_psi(st, G, theta))), dat, fit$reml)
  H <- rm_hessian(f, fit$theta)
  fit$W_theta <- 2 * solve((H + t(H)) / 2)
  Jpsi <- numDeriv::jacobian(function(th) rm_psi(st, G, th), fit$theta)
  fit$W_obs <- Jpsi %*% fit$W_theta %*% t(Jpsi)
  phi_fun <- function(theta) as.vector(rm_core(dat, rm_sig_nat(st, G, rm_psi(st, G, theta)))$Phi)
  J <- numDeriv::jacobian(phi_fun, fit$theta)
  fit$dPhi_theta <- lapply(seq_len(ncol(J)), function(j) matrix(J[, j], k, k))
  fit
}

rm_sat_1d <- function(fit, l) {
  # Satterthwaite df of l'beta: 2 (l' Phi l)^2 / (g' W g), g = d(l' Phi l)/dtheta.
  v <- sum(l * (fit$Phi %*% l))
  g <- vapply(fit$dPhi_theta, function(D) sum(l * (D %*% l)), 0)
  list(estimate = sum(l * fit$beta), std_error = sqrt(v), df = 2 * v^2 / sum(g * (fit$W_theta %*% g)))
}

rm_sat_md <- function(fit, L) {
  # Multi-dimensional Satterthwaite (Fai & Cornelius 1996 as in SAS / mmrm).
  L <- matrix(L, ncol = fit$dat$k)
  C <- L %*% fit$Phi %*% t(L)
  e <- eigen(C, symmetric = TRUE)
  q <- nrow(L)
  est <- drop(L %*% fit$beta)
  f_stat <- drop(t(est) %*% solve(C, est)) / q
  if (q == 1) {
    s <- rm_sat_1d(fit, drop(L))
    return(list(num_df = 1, denom_df = s$df, f_stat = f_stat))
  }
  dfs <- vapply(seq_len(q), function(i) rm_sat_1d(fit, drop(e$vectors[, i] %*% L))$df, 0)
  E <- sum(dfs / (dfs - 2))
  den <- if (any(dfs <= 2)) 2 else 2 * E / (E - q)
  list(num_df = q, denom_df = den, f_stat = f_stat, df_components = dfs)
}

rm_sigma_derivs <- function(fit) {
  # dSigma/dpsi and d2Sigma/dpsi dpsi per group via numDeriv::genD (Richardson).
  m <- fit$dat$m
  np <- fit$st$npar
  lapply(rm_blocks(fit$st, fit$G), function(b) {
    D <- numDeriv::genD(function(p) as.vector(fit$st$sigma_nat(p)), fit$psi[b])$D
    d1 <- lapply(seq_len(np), function(j) matrix(D[, j], m, m))
    d2 <- vector("list", np * np)
    col <- np
    for (i in seq_len(np)) {
      for (j in seq_len(i)) {
        col <- col + 1
        M <- matrix(D[, col], m, m)
        d2[[(i - 1) * np + j]] <- M
        d2[[(j - 1) * np + i]] <- M
      }
    }
    list(d1 = d1, d2 = d2, idx = b)
  })
}

rm_kr_components <- function(fit) {
  dat <- fit$dat
  k <- dat$k
  np <- fit$st$npar
  P_all <- np * fit$G
  der <- rm_sigma_derivs(fit)
  P <- replicate(P_all, matrix(0, k, k), simplify = FALSE)
  Q <- replicate(P_all * P_all, matrix(0, k, k), simplify = FALSE)
  R <- replicate(P_all * P_all, matrix(0, k, k), simplify = FALSE)
  trMM <- matrix(0, P_all, P_all)
  for (i in seq_along(dat$patterns)) {
    p <- dat$patterns[[i]]
    wz <- fit$core$wz[[i]]
    dg <- der[[p$g]]
    Ui <- backsolve(wz$U, diag(p$q))
    Zq <- matrix(wz$Zm, nrow = p$q) # q x (n*k)
    whiten <- function(S) crossprod(Ui, S[p$vis, p$vis, drop = FALSE] %*% Ui)
    M <- lapply(dg$d1, whiten)
    MZ <- lapply(M, function(Mk) matrix(Mk %*% Zq, ncol = k))
    for (a in seq_len(np)) {
      ga <- dg$idx[a]
      P[[ga]] <- P[[ga]] - crossprod(wz$Zm, MZ[[a]])
      for (b in seq_len(np)) {
        gb <- dg$idx[b]
        Q[[(ga - 1) * P_all + gb]] <- Q[[(ga - 1) * P_all + gb]] + crossprod(MZ[[a]], MZ[[b]])
        Mab <- whiten(dg$d2[[(a - 1) * np + b]])
        R[[(ga - 1) * P_all + gb]] <- R[[(ga - 1) * P_all + gb]] +
          crossprod(wz$Zm, matrix(Mab %*% Zq, ncol = k))
        trMM[ga, gb] <- trMM[ga, gb] + p$n * sum(M[[a]] * M[[b]])
      }
    }
  }
  # Expected (REML) information: I_kl = tr(P V_k P V_l) / 2.
  Phi <- fit$Phi
  I_exp <- matrix(0, P_all, P_all)
  for (a in seq_len(P_all)) {
    for (b in seq_len(P_all)) {
      I_exp[a, b] <- 0.5 * (trMM[a, b] - 2 * sum(diag(Phi %*% Q[[(a - 1) * P_all + b]])) +
        sum(diag(Phi %*% P[[a]] %*% Phi %*% P[[b]])))
    }
  }
  list(P = P, Q = Q, R = R, W_exp = solve(I_exp), n = P_all)
}

rm_kr_vcov <- function(fit, comp, W, linear = FALSE) {
  Phi <- fit$Phi
  n <- comp$n
  acc <- matrix(0, nrow(Phi), ncol(Phi))
  for (a in seq_len(n)) {
    for (b in seq_len(n)) {
      ab <- (a - 1) * n + b
      term <- comp$Q[[ab]] - comp$P[[a]] %*% Phi %*% comp$P[[b]]
      if (!linear) term <- term - comp$R[[ab]] / 4
      acc <- acc + W[a, b] * term
    }
  }
  Phi + 2 * Phi %*% acc %*% Phi
}

rm_kr_df <- function(fit, comp, W, L) {
  # Kenward & Roger (1997) denominator df and F scaling for H0: L beta = 0.
  L <- matrix(L, ncol = fit$dat$k)
  Phi <- fit$Phi
  q <- nrow(L)
  Theta <- t(L) %*% solve(L %*% Phi %*% t(L)) %*% L
  TP <- lapply(comp$P, function(Pk) Theta %*% Phi %*% Pk %*% Phi)
  A1 <- 0
  A2 <- 0
  for (a in seq_len(comp$n)) {
    for (b in seq_len(comp$n)) {
      A1 <- A1 + W[a, b] * sum(diag(TP[[a]])) * sum(diag(TP[[b]]))
      A2 <- A2 + W[a, b] * sum(TP[[a]] * t(TP[[b]]))
    }
  }
  B <- (A1 + 6 * A2) / (2 * q)
  g <- ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
  den <- 3 * q + 2 * (1 - g)
  c1 <- g / den
  c2 <- (q - g) / den
  c3 <- (q + 2 - g) / den
  Estar <- 1 / (1 - A2 / q)
  Vstar <- (2 / q) * (1 + c1 * B) / ((1 - c2 * B)^2 * (1 - c3 * B))
  rho <- Vstar / (2 * Estar^2)
  m <- 4 + (q + 2) / (q * rho - 1)
  lambda <- m / (Estar * (m - 2))
  list(df = m, lambda = lambda)
}

rm_kr_test <- function(fit, comp, W, Phi_A, L) {
  L <- matrix(L, ncol = fit$dat$k)
  q <- nrow(L)
  est <- drop(L %*% fit$beta)
  d <- rm_kr_df(fit, comp, W, L)
  f_stat <- drop(t(est) %*% solve(L %*% Phi_A %*% t(L), est)) / q
  list(num_df = q, denom_df = d$df, f_stat = f_stat, lambda = d$lambda, f_scaled = f_stat * d$lambda)
}
