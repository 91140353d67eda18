## make_data.R: build the reference data sets used by make_reference.R (seeded, so
## re-running reproduces the committed CSV files byte for byte on the same R version).
##
##   cosmetic2_data.csv  2 arms (VEH reference, ACT) x 4 post-baseline visits W2 < W4 < W8 < W12,
##                       80 subjects, outcome CHG = change from baseline in corneometer skin
##                       hydration (a.u.), baseline covariate BASE; SD grows over time,
##                       correlation decays with the time lag; MAR dropout (driven by the
##                       last observed change) and a few intermittent missing values.
##                       Every subject has 4 rows; a missing value is an NA row (fev_data shape).
##   cosmetic3_data.csv  3 unbalanced arms (VEH reference, LOW, HIGH; 20/35/45 subjects),
##                       same visits, covariates BASE and SEX (F reference). Dropout rows are
##                       ABSENT (bcva_data shape), intermittent missing values are NA rows;
##                       includes one subject with no observed value and one observed at W12
##                       only; rows are shuffled (no reliance on row order).
##   bcva200_data.csv    the first 200 subjects (USUBJID 1..200) of ../bcva_data.csv, unchanged
##                       (10 visits, dropout = absent rows).
##
## Factor level order is lost in CSV; the reference levels are written in the README and in
## every case JSON ("levels"). Note W12 sorts before W2 alphabetically, and the arm reference
## (VEH) is not the alphabetically first level: level order must come from the data model.
##
## Run from the repository root: Rscript tests/reference/mmrm/r/make_data.R

out_dir <- "tests/reference/mmrm/r"
weeks <- c(2, 4, 8, 12)
visits <- paste0("W", weeks)

sim_arm_effects <- function(arm, visit_i) {
  mu <- list(
    VEH = c(3.0, 4.0, 4.5, 4.5),
    ACT = c(5.0, 8.0, 10.0, 11.0),
    LOW = c(3.5, 6.0, 7.0, 7.5),
    HIGH = c(4.5, 8.0, 10.0, 11.0)
  )
  mu[[arm]][visit_i]
}

sim_cov <- function(sds) {
  # Correlation decays with the lag in weeks (not in visit index): 0.85^(lag / 2).
  R <- 0.85^(abs(outer(weeks, weeks, "-")) / 2)
  outer(sds, sds) * R
}

simulate_trial <- function(arms, sizes, sds, sex_effect = 0, p_male = 0.2) {
  n <- sum(sizes)
  arm <- sample(rep(arms, sizes))
  base <- round(rnorm(n, 38, 7), 1)
  sex <- ifelse(runif(n) < p_male, "M", "F")
  U <- chol(sim_cov(sds))
  eps <- matrix(rnorm(n * 4), n, 4) %*% U
  chg <- matrix(NA_real_, n, 4)
  dropped_after <- rep(4L, n)
  for (i in seq_len(n)) {
    mu <- sim_arm_effects(arm[i], 1:4) - 0.25 * (base[i] - 38) + sex_effect * (sex[i] == "M")
    y <- mu + eps[i, ]
    chg[i, ] <- y
    # MAR dropout: after visit j, drop out with probability depending on observed change.
    for (j in 1:3) {
      if (runif(1) < plogis(-2.2 - 0.15 * y[j])) {
        dropped_after[i] <- j
        break
      }
    }
  }
  aval <- round(base + chg, 1)
  chg <- round(aval - base, 1)
  list(arm = arm, base = base, sex = sex, aval = aval, chg = chg, dropped_after = dropped_after)
}

## --- 2-arm cosmetic trial ---------------------------------------------------------
set.seed(20250107)
s2 <- simulate_trial(c("VEH", "ACT"), c(40, 40), sds = c(3.5, 4.5, 5.5, 6.5))
n2 <- length(s2$arm)
rows <- expand.grid(v = 1:4, i = seq_len(n2))
cos2 <- data.frame(
  SUBJID = sprintf("S%03d", rows$i),
  ARM = s2$arm[rows$i],
  VISIT = visits[rows$v],
  WEEK = weeks[rows$v],
  BASE = s2$base[rows$i],
  AVAL = s2$aval[cbind(rows$i, rows$v)],
  CHG = s2$chg[cbind(rows$i, rows$v)],
  stringsAsFactors = FALSE
)
miss <- rows$v > s2$dropped_after[rows$i]
# Intermittent (MCAR) missing values among the non-dropped visits.
inter <- !miss & runif(nrow(cos2)) < 0.03
cos2$AVAL[miss | inter] <- NA
cos2$CHG[miss | inter] <- NA
write.csv(cos2, file.path(out_dir, "cosmetic2_data.csv"), row.names = FALSE, na = "", quote = FALSE)

## --- 3-arm unbalanced cosmetic trial ---------------------------------------------
set.seed(20250108)
s3 <- simulate_trial(c("VEH", "LOW", "HIGH"), c(20, 35, 45),
  sds = c(4.0, 5.0, 6.0, 7.5),
  sex_effect = -1.0, p_male = 0.3
)
n3 <- length(s3$arm)
rows <- expand.grid(v = 1:4, i = seq_len(n3))
cos3 <- data.frame(
  SUBJID = 100L + rows$i,
  ARM = s3$arm[rows$i],
  SEX = s3$sex[rows$i],
  VISIT = visits[rows$v],
  BASE = s3$base[rows$i],
  CHG = s3$chg[cbind(rows$i, rows$v)],
  stringsAsFactors = FALSE
)
inter <- runif(nrow(cos3)) < 0.03
cos3$CHG[inter] <- NA
# Subject 101: nothing observed (all NA rows); subject 102: observed at W12 only.
cos3$CHG[cos3$SUBJID == 101] <- NA
cos3$CHG[cos3$SUBJID == 102 & cos3$VISIT != "W12"] <- NA
keep <- rows$v <= s3$dropped_after[rows$i] | cos3$SUBJID %in% c(101, 102)
cos3 <- cos3[keep, ]
cos3 <- cos3[sample(nrow(cos3)), ]
write.csv(cos3, file.path(out_dir, "cosmetic3_data.csv"), row.names = FALSE, na = "", quote = FALSE)

## --- bcva subset ------------------------------------------------------------------
# Filter the text lines (not parse + write) so that every number keeps all its digits.
bcva_lines <- readLines("tests/reference/mmrm/bcva_data.csv")
bcva_id <- suppressWarnings(as.integer(sub(",.*", "", bcva_lines)))
writeLines(bcva_lines[c(TRUE, (bcva_id <= 200)[-1])], file.path(out_dir, "bcva200_data.csv"))
bcva200 <- read.csv(file.path(out_dir, "bcva200_data.csv"))

cat("cosmetic2:", nrow(cos2), "rows,", sum(!is.na(cos2$CHG)), "observed,",
  length(unique(cos2$SUBJID[!is.na(cos2$CHG)])), "subjects with data\n")
print(table(cos2$ARM, cos2$VISIT, is.na(cos2$CHG)))
cat("cosmetic3:", nrow(cos3), "rows,", sum(!is.na(cos3$CHG)), "observed,",
  length(unique(cos3$SUBJID[!is.na(cos3$CHG)])), "subjects with data\n")
print(table(cos3$ARM, factor(cos3$VISIT, visits), is.na(cos3$CHG)))
cat("bcva200:", nrow(bcva200), "rows,", length(unique(bcva200$USUBJID)), "subjects\n")
