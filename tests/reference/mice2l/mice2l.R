# Two-level imputation reference values for cpeval.missing.impute(cluster_model=...).
# Run from this folder: python make_data.py && Rscript mice2l.R   (about 3 minutes)
# Run on Debian 12 with R and mice from Debian's packages (r-cran-mice, r-cran-lme4,
# r-cran-pan); versions written to versions.txt (R 4.2.2, mice 3.15.0, lme4 1.1-31,
# pan 1.6).
#
# clustered.csv: 299 people in 20 teams (5 to 25 each), y missing at random given x
# (27%); small_clusters.csv: 218 people in 60 teams of 2 to 6 (44% missing). Only y
# is missing, so one cycle (maxit = 1) is a draw from the imputation model. Each
# method imputes y m = 500 times (seed 20261209) from x and the team:
#   2l.pan     the matched method (cluster_model = "random"): the homoscedastic
#              random-intercept model y ~ x + (1 | team) by pan's Gibbs sampler
#              (x type 1, team type -2), y divided by its observed SD before
#              imputing and multiplied back after, because 2l.pan's priors (1 df,
#              scale 1 for the residual and team variances) are on y's scale and
#              cpeval puts them on the observed variance
#   2l.pan.raw context: the same on y's own scale (observed SD 1.31 and 1.18 here)
#   2l.lmer    context: the same model by lme4 (REML) and Jolani's (2018)
#              approximate posterior draw, which spreads the team effects too
#              little when teams are small
#   2l.norm    context: Kasim-Raudenbush Gibbs sampler with a variance per team;
#              2l.norm uses only type-2 predictors (type 1 is dropped), so x is
#              type 2 (a random slope); with x type 1 it would ignore x (not
#              MAR-valid); clustered.csv only (teams of 2 leave it one or no
#              observed value)
#   pmm.fixed  mice's pmm with team as a factor (fixed effects): cpeval's
#              default cluster_model = "fixed"
#   pmm.none   pmm from x alone (the team ignored: single level)
# For every completed data set: mean and variance of y, one-way ANOVA between-team
# variance (sigma_b2) and ICC of y, and lm(y ~ x)'s slope and its variance.
# Writes mice2l_results.csv: data, method, statistic, estimate, mc_se, m, where estimate
# is the mean over the m imputations (mc_se = sd / sqrt(m)), "sd_<stat>" is the sd
# across imputations (mc_se = sd / sqrt(2 (m - 1))), and slope_T is Rubin's total
# variance of the pooled slope, W + (1 + 1/m) B (mc_se by 2000 bootstrap resamples
# of the m imputations); method "full_data" gives the statistics of y_full.
suppressMessages({library(mice); library(lme4); library(pan)})
M <- 500

anova_icc <- function(y, g) {
  n <- tabulate(g); N <- length(y); G <- length(n)
  means <- tapply(y, g, mean)
  msb <- sum(n * (means - mean(y))^2) / (G - 1)
  msw <- sum((y - means[g])^2) / (N - G)
  n0 <- (N - sum(n^2) / N) / (G - 1)
  sb2 <- (msb - msw) / n0
  c(sigma_b2 = sb2, icc = sb2 / (sb2 + msw))
}

statistics <- function(completed) {
  y <- completed$y; g <- completed$team
  fit <- lm(y ~ x, data = completed)
  c(mean_y = mean(y), var_y = var(y), anova_icc(y, g),
    slope = unname(coef(fit)[2]), slope_var = vcov(fit)[2, 2])
}

run <- function(method, x_type, team_type, data, standardise = FALSE) {
  scale <- if (standardise) sd(data$y, na.rm = TRUE) else 1
  data$y <- data$y / scale
  pred <- make.predictorMatrix(data)
  pred[,] <- 0
  pred["y", "x"] <- x_type
  pred["y", "team"] <- team_type
  meth <- c(team = "", x = "", y = method)
  imp <- mice(data, m = M, maxit = 1, method = meth, predictorMatrix = pred,
              seed = 20261209, printFlag = FALSE)
  t(sapply(seq_len(M), function(i) {
    completed <- complete(imp, i)
    completed$y <- completed$y * scale
    statistics(completed)
  }))
}

summarise <- function(name, s) {
  stats <- c("mean_y", "var_y", "sigma_b2", "icc", "slope")
  m <- nrow(s)
  est <- colMeans(s[, stats]); sds <- apply(s[, stats], 2, sd)
  total <- function(rows) mean(s[rows, "slope_var"]) + (1 + 1 / m) * var(s[rows, "slope"])
  set.seed(1)
  boot <- replicate(2000, total(sample.int(m, m, replace = TRUE)))
  rbind(
    data.frame(method = name, statistic = stats, estimate = est, mc_se = sds / sqrt(m)),
    data.frame(method = name, statistic = paste0("sd_", stats), estimate = sds,
               mc_se = sds / sqrt(2 * (m - 1))),
    data.frame(method = name, statistic = "slope_T", estimate = total(seq_len(m)),
               mc_se = sd(boot))
  )
}

summarise_data <- function(file, methods) {
  d0 <- read.csv(file)
  d <- data.frame(team = as.integer(factor(d0$team)), x = d0$x, y = d0$y)
  specs <- list(
    "2l.pan" = list("2l.pan", 1, -2, d, TRUE),
    "2l.pan.raw" = list("2l.pan", 1, -2, d),
    "2l.lmer" = list("2l.lmer", 1, -2, d),
    "2l.norm" = list("2l.norm", 2, -2, d),
    "pmm.fixed" = list("pmm", 1, 1, transform(d, team = factor(team))),
    "pmm.none" = list("pmm", 1, 0, d)
  )[methods]
  out <- NULL
  for (name in names(specs)) {
    spec <- specs[[name]]
    started <- Sys.time()
    s <- do.call(run, spec)
    cat(file, name, format(Sys.time() - started), "\n")
    out <- rbind(out, summarise(name, s))
  }
  full <- anova_icc(d0$y_full, d$team)
  out <- rbind(out, data.frame(
    method = "full_data",
    statistic = c("mean_y", "var_y", "sigma_b2", "icc", "slope"),
    estimate = c(mean(d0$y_full), var(d0$y_full), full,
                 coef(lm(y_full ~ x, data = d0))[[2]]),
    mc_se = 0
  ))
  out$m <- ifelse(out$method == "full_data", 0, M)
  cbind(data = sub("[.]csv$", "", file), out)
}

all_methods <- c("2l.pan", "2l.pan.raw", "2l.lmer", "2l.norm", "pmm.fixed", "pmm.none")
out <- rbind(summarise_data("clustered.csv", all_methods),
             summarise_data("small_clusters.csv", setdiff(all_methods, "2l.norm")))
write.csv(out, "mice2l_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("mice", packageVersion("mice")),
             paste("lme4", packageVersion("lme4")),
             paste("pan", packageVersion("pan"))), "versions.txt")
