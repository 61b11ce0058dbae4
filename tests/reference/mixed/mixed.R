# Reference values for a general mixed-model engine (LMM and GLMM) from R lme4 + lmerTest +
# pbkrtest. Run from the repository root:
#   Rscript tests/reference/mixed/mixed.R
# Writes the data sets (*.csv), mixed_results.csv (long: model, quantity, term, value) and
# versions.txt into tests/reference/mixed/.
suppressMessages({library(lme4); library(lmerTest); library(pbkrtest)})
out_dir <- if (file.exists("mixed.R")) "." else file.path("tests", "reference", "mixed")
stopifnot(file.exists(file.path(out_dir, "mixed.R")))
path <- function(f) file.path(out_dir, f)

# Numbers as text that reads back to the same double: 15 significant digits where that is
# exact, else 17. Data sets and results are written this way, so that Python reads the very
# numbers R fitted and recorded.
num17 <- function(x) {
  s <- sprintf("%.15g", x)
  inexact <- !is.na(x) & as.numeric(s) != x
  s[inexact] <- sprintf("%.17g", x[inexact])
  s
}
write_data <- function(d, f) {
  labels <- which(vapply(d, function(v) is.factor(v) || is.character(v), logical(1)))
  for (v in names(d)) if (is.double(d[[v]])) d[[v]] <- num17(d[[v]])
  write.csv(d, path(f), row.names = FALSE, quote = labels)
}

## ---- data sets --------------------------------------------------------------------------
data(sleepstudy, Penicillin, Pastes, cbpp, grouseticks, package = "lme4")
write_data(sleepstudy, "sleepstudy.csv")
write_data(Penicillin, "penicillin.csv")
write_data(Pastes, "pastes.csv")
cb <- data.frame(herd = cbpp$herd, incidence = cbpp$incidence, size = cbpp$size,
                 period = cbpp$period, proportion = cbpp$incidence / cbpp$size)
write_data(cb, "cbpp.csv")
gt <- grouseticks
gt$height_c <- as.numeric(scale(gt$HEIGHT))
write_data(gt, "grouseticks.csv")

# team_wave: two waves (0/1), 10 teams, arm by team (5 + 5), 20-40 participants a team;
# team SD 1.5, team-by-wave SD 1.0, participant SD 4, residual SD 5; ~20% lost at wave 1.
set.seed(20240515)
n_team <- 10
arm_of_team <- sample(rep(0:1, each = 5))
size_of_team <- sample(20:40, n_team, replace = TRUE)
u_team <- rnorm(n_team, sd = 1.5)
u_tw <- matrix(rnorm(2 * n_team, sd = 1.0), n_team, 2)
rows <- list(); next_id <- 0
for (j in seq_len(n_team)) {
  n <- size_of_team[j]
  ids <- next_id + seq_len(n); next_id <- next_id + n
  u_id <- rnorm(n, sd = 4)
  for (w in 0:1) {
    keep <- if (w == 0) rep(TRUE, n) else runif(n) > 0.2
    mu <- 50 + 2 * w + 1 * arm_of_team[j] + 3 * w * arm_of_team[j] + u_team[j] + u_tw[j, w + 1]
    y <- mu + u_id + rnorm(n, sd = 5)
    rows[[length(rows) + 1]] <- data.frame(id = sprintf("P%03d", ids)[keep],
                                           team = sprintf("T%02d", j), wave = w,
                                           arm = arm_of_team[j], y = y[keep])
  }
}
tw <- do.call(rbind, rows)
tw <- tw[order(tw$team, tw$id, tw$wave), ]
write_data(tw, "team_wave.csv")

# kr: 6 clusters of 3 to 15, a cluster-level and an individual-level covariate; seed chosen
# so that Kenward-Roger and Satterthwaite df for x_cluster differ by about a quarter.
set.seed(10)
sizes <- c(3, 5, 6, 9, 12, 15)
cl <- rep(seq_along(sizes), sizes)
xc <- round(rnorm(6), 2)
u <- rnorm(6, sd = 1.5)
xi <- round(rnorm(length(cl)), 2)
kr <- data.frame(cluster = paste0("C", cl), x_cluster = xc[cl], x_ind = xi,
                 y = 10 + 1 * xc[cl] + 0.5 * xi + u[cl] + rnorm(length(cl), sd = 1))
write_data(kr, "kr.csv")

# fit on the data exactly as written
rd <- function(f) {
  d <- read.csv(path(f), stringsAsFactors = TRUE)
  d
}
tw <- rd("team_wave.csv"); tw$team <- factor(tw$team); tw$id <- factor(tw$id)
kr <- rd("kr.csv")

## ---- recording --------------------------------------------------------------------------
out <- list()
add <- function(model, quantity, term, value) {
  if (length(value) == 0) return(invisible())
  out[[length(out) + 1]] <<- data.frame(model = model, quantity = quantity, term = term,
                                        value = num17(as.numeric(value)))
}
warn_log <- character()
fit_quiet <- function(label, expr) {
  withCallingHandlers(expr, warning = function(w) {
    warn_log <<- c(warn_log, paste0(label, ": ", conditionMessage(w)))
    invokeRestart("muffleWarning")
  }, message = function(m) {
    warn_log <<- c(warn_log, paste0(label, " (message): ", trimws(conditionMessage(m))))
    invokeRestart("muffleMessage")
  })
}
mat_terms <- function(M) as.vector(outer(rownames(M), colnames(M), paste, sep = "|"))

common <- function(model, fit) {
  th <- getME(fit, "theta")
  add(model, "theta", names(th), th)
  vc <- as.data.frame(VarCorr(fit))
  vterm <- paste(vc$grp, ifelse(is.na(vc$var1), "NA", vc$var1), ifelse(is.na(vc$var2), "NA", vc$var2))
  add(model, "vcov", vterm, vc$vcov)
  add(model, "sdcor", vterm, vc$sdcor)
  ll <- as.numeric(logLik(fit))
  add(model, "loglik", "", ll)
  add(model, "m2loglik", "", -2 * ll)
  add(model, "singular", "", as.numeric(isSingular(fit)))
  add(model, "nobs", "", nobs(fit))
  ng <- ngrps(fit)
  add(model, "ngrps", names(ng), ng)
  add(model, "n_messages", "", length(fit@optinfo$conv$lme4$messages))
}

fit_lmm <- function(model, formula, data, REML = TRUE) {
  fit <- fit_quiet(model, lmerTest::lmer(formula, data = data, REML = REML))
  co <- summary(fit, ddf = "Satterthwaite")$coefficients
  add(model, "estimate", rownames(co), co[, "Estimate"])
  add(model, "se", rownames(co), co[, "Std. Error"])
  add(model, "df_satt", rownames(co), co[, "df"])
  add(model, "p_satt", rownames(co), co[, "Pr(>|t|)"])
  kr_co <- tryCatch(fit_quiet(paste(model, "KR"), summary(fit, ddf = "Kenward-Roger")$coefficients),
                    error = function(e) {
                      warn_log <<- c(warn_log, paste0(model, " KR failed: ", conditionMessage(e)))
                      NULL
                    })
  if (!is.null(kr_co) && "df" %in% colnames(kr_co)) {
    add(model, "df_kr", rownames(kr_co), kr_co[, "df"])
    add(model, "se_kr", rownames(kr_co), kr_co[, "Std. Error"])
    add(model, "p_kr", rownames(kr_co), kr_co[, "Pr(>|t|)"])
  } else if (!is.null(kr_co)) {
    warn_log <<- c(warn_log, paste0(model, " KR: summary returned no df column"))
  }
  add(model, "sigma", "", sigma(fit))
  add(model, "reml", "", as.numeric(REML))
  # "deviance" for an LMM is -2 logLik: the REML criterion for a REML fit, the deviance for ML
  add(model, "deviance", "", -2 * as.numeric(logLik(fit)))
  common(model, fit)
  fit
}

fit_glmm <- function(model, formula, data, family, nAGQ = 1) {
  fit <- fit_quiet(model, glmer(formula, data = data, family = family, nAGQ = nAGQ))
  co <- summary(fit)$coefficients
  add(model, "estimate", rownames(co), co[, "Estimate"])
  add(model, "se", rownames(co), co[, "Std. Error"])
  add(model, "z", rownames(co), co[, "z value"])
  add(model, "p", rownames(co), co[, "Pr(>|z|)"])
  V <- as.matrix(vcov(fit))
  add(model, "vcov_fixed", mat_terms(V), V)
  add(model, "nAGQ", "", nAGQ)
  # deviance(fit) for a GLMM is the sum of squared deviance residuals at the conditional modes
  add(model, "deviance", "", deviance(fit))
  # lme4's logLik (and so m2loglik, AIC, BIC) for nAGQ > 1 leaves out the saturated model's
  # log-likelihood (lme4 issues 161 and 567); loglik_full puts it back (= loglik for nAGQ = 1)
  y <- getME(fit, "y"); w <- weights(fit); fam <- stats::family(fit)$family
  sat <- if (fam == "binomial") sum(dbinom(round(y * w), round(w), y, log = TRUE)) else
    sum(dpois(y, y, log = TRUE))
  add(model, "loglik_saturated", "", sat)
  add(model, "loglik_full", "", as.numeric(logLik(fit)) + if (nAGQ > 1) sat else 0)
  add(model, "aic", "", AIC(fit))
  add(model, "bic", "", BIC(fit))
  common(model, fit)
  fit
}

## ---- linear mixed models ----------------------------------------------------------------
m <- fit_lmm("sleep_corr", Reaction ~ Days + (Days | Subject), sleepstudy)
m <- fit_lmm("sleep_uncorr", Reaction ~ Days + (Days || Subject), sleepstudy)
m_full_ml <- fit_lmm("sleep_corr_ml", Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE)
m_int_ml <- fit_lmm("sleep_intercept", Reaction ~ Days + (1 | Subject), sleepstudy, REML = FALSE)
a <- anova(m_int_ml, m_full_ml)  # both ML: no refit
add("sleep_intercept", "lrt_chisq", "vs sleep_corr_ml", a$Chisq[2])
add("sleep_intercept", "lrt_df", "vs sleep_corr_ml", a$Df[2])
add("sleep_intercept", "lrt_p", "vs sleep_corr_ml", a[["Pr(>Chisq)"]][2])

m <- fit_lmm("penicillin", diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin)

m_p <- fit_lmm("pastes", strength ~ 1 + (1 | batch/cask), Pastes)
m_p2 <- lmer(strength ~ 1 + (1 | batch) + (1 | batch:cask), Pastes)
# (1 | batch/cask) is (1 | batch) + (1 | cask:batch): the same model as (1 | batch:cask)
stopifnot(abs(as.numeric(logLik(m_p)) - as.numeric(logLik(m_p2))) < 1e-8,
          isTRUE(all.equal(sort(unname(getME(m_p, "theta"))), sort(unname(getME(m_p2, "theta"))),
                           tolerance = 1e-6)),
          isTRUE(all.equal(unname(fixef(m_p)), unname(fixef(m_p2)), tolerance = 1e-8)))
add("pastes", "loglik_explicit_form", "(1 | batch) + (1 | batch:cask)", as.numeric(logLik(m_p2)))

m <- fit_lmm("team_wave", y ~ wave * arm + (1 | team) + (1 | team:wave) + (1 | id), tw)

m_kr <- fit_lmm("kr", y ~ x_cluster + x_ind + (1 | cluster), kr)
m_kr0 <- lmer(y ~ x_ind + (1 | cluster), kr)
km <- KRmodcomp(m_kr, m_kr0)
st <- km$stats
add("kr", "kr_F", "x_cluster", st$Fstat)
add("kr", "kr_ndf", "x_cluster", st$ndf)
add("kr", "kr_ddf", "x_cluster", st$ddf)
add("kr", "kr_Fscaling", "x_cluster", st$F.scaling)
add("kr", "kr_p", "x_cluster", st$p.value)
Va <- as.matrix(vcovAdj(m_kr))
dimnames(Va) <- dimnames(as.matrix(vcov(m_kr)))
add("kr", "vcov_adj", mat_terms(Va), Va)
V <- as.matrix(vcov(m_kr))
add("kr", "vcov", mat_terms(V), V)

## ---- generalized linear mixed models ----------------------------------------------------
f_cbpp <- cbind(incidence, size - incidence) ~ period + (1 | herd)
m <- fit_glmm("cbpp_laplace", f_cbpp, cbpp, binomial, nAGQ = 1)
m <- fit_glmm("cbpp_agq10", f_cbpp, cbpp, binomial, nAGQ = 10)
m <- fit_glmm("cbpp_probit", f_cbpp, cbpp, binomial(link = "probit"), nAGQ = 1)

gt <- rd("grouseticks.csv"); gt$YEAR <- factor(gt$YEAR); gt$BROOD <- factor(gt$BROOD)
gt$LOCATION <- factor(gt$LOCATION)
m_t <- fit_glmm("ticks_poisson", TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | LOCATION),
                gt, poisson, nAGQ = 1)
# the same fit with the written column height_c
m_t2 <- glmer(TICKS ~ YEAR + height_c + (1 | BROOD) + (1 | LOCATION), gt, family = poisson)
stopifnot(abs(as.numeric(logLik(m_t)) - as.numeric(logLik(m_t2))) < 1e-6)
m <- fit_glmm("ticks_agq5", TICKS ~ YEAR + height_c + (1 | BROOD), gt, poisson, nAGQ = 5)

res <- do.call(rbind, out)
write.csv(res, path("mixed_results.csv"), row.names = FALSE, quote = 1:3)
writeLines(c(R.version.string,
             paste("lme4", packageVersion("lme4")),
             paste("lmerTest", packageVersion("lmerTest")),
             paste("pbkrtest", packageVersion("pbkrtest")),
             paste("Matrix", packageVersion("Matrix"))), path("versions.txt"))
cat("rows written:", nrow(res), "\n")
if (length(warn_log)) cat("warnings and messages:\n", paste0("  ", warn_log, "\n"), sep = "") else
  cat("no warnings or messages\n")
