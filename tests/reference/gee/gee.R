# Reference values for cpeval.models.fit_gee from geepack::geeglm (and, for the
# Kauermann-Carroll covariance, geesmv::GEE.var.kc).
# Run from this folder: Rscript gee.R  (writes the data sets and gee_results.csv)
suppressPackageStartupMessages({library(geepack); library(geesmv)})
data(ohio); data(respiratory); data(dietox)
respiratory$treat <- as.integer(respiratory$treat == "A")  # active = 1
respiratory$sex <- NULL
respiratory$id <- respiratory$center * 1000 + respiratory$id  # ids reused by centre
dietox <- dietox[, c("Pig", "Time", "Weight", "Cu")]
write.csv(ohio, "ohio.csv", row.names = FALSE)
write.csv(respiratory, "respiratory.csv", row.names = FALSE)
write.csv(dietox, "dietox.csv", row.names = FALSE)
# dietox with gaps: week 5 dropped for every pig (geepack counts AR(1) lags in
# steps of the ordered distinct waves, so week 4 to 6 is one step) and week 8
# for odd-numbered pigs (a gap within a cluster: week 7 to 9 is two steps)
odd <- as.integer(as.character(dietox$Pig)) %% 2 == 1  # Pig is a factor
dietox_gaps <- dietox[dietox$Time != 5 & !(odd & dietox$Time == 8), ]
# name, formula, cluster, family, working correlation, data, waves (ar1 only)
cases <- list(
  list("ohio", resp ~ age + smoke, "id", binomial, "independence", ohio),
  list("ohio", resp ~ age + smoke, "id", binomial, "exchangeable", ohio),
  list("respiratory", outcome ~ treat + baseline + age + visit, "id", binomial,
       "exchangeable", respiratory),
  list("dietox", Weight ~ Time + factor(Cu), "Pig", gaussian, "exchangeable", dietox),
  # a count model (log link) on the 0/1 wheeze counts, as a Poisson GEE
  list("ohio_poisson", resp ~ age + smoke, "id", poisson, "exchangeable", ohio),
  list("ohio", resp ~ age + smoke, "id", binomial, "ar1", ohio, "age"),
  list("respiratory", outcome ~ treat + baseline + age + visit, "id", binomial,
       "ar1", respiratory, "visit"),
  list("dietox", Weight ~ Time + factor(Cu), "Pig", gaussian, "ar1", dietox, "Time"),
  list("dietox_gaps", Weight ~ Time + factor(Cu), "Pig", gaussian, "ar1", dietox_gaps,
       "Time")
)
rows <- list()
for (case in cases) {
  data <- case[[6]]
  data <- data[order(data[[case[[3]]]]), ]
  data$.id <- data[[case[[3]]]]
  if (case[[5]] == "ar1") {
    # geeglm's default epsilon (1e-4, on the largest change of any parameter)
    # stops its AR(1) iteration about 1e-5 short of the solution; converge fully
    data$.wave <- data[[case[[7]]]]
    fit <- geeglm(case[[2]], id = .id, waves = .wave, data = data, family = case[[4]],
                  corstr = "ar1", control = geese.control(epsilon = 1e-10, maxit = 200))
    stopifnot(fit$geese$error == 0)
  } else {
    fit <- geeglm(case[[2]], id = .id, data = data, family = case[[4]], corstr = case[[5]])
  }
  s <- summary(fit)
  alpha <- if (case[[5]] != "independence") s$corr["alpha", "Estimate"] else NA
  rows[[length(rows) + 1]] <- data.frame(
    data = case[[1]], correlation = case[[5]], term = rownames(coef(s)),
    estimate = coef(s)[, "Estimate"], se = coef(s)[, "Std.err"], alpha = alpha
  )
}
# Kauermann-Carroll standard errors from geesmv (which fits by gee::gee, so only
# the independence working correlation gives the same estimates as geepack)
kc_cases <- list(
  list("ohio_kc", resp ~ age + smoke, "id", binomial, ohio),
  list("respiratory_kc", outcome ~ treat + baseline + age + visit, "id", binomial,
       respiratory),
  list("dietox_kc", Weight ~ Time + factor(Cu), "Pig", gaussian, dietox)
)
for (case in kc_cases) {
  data <- case[[5]]
  data <- data[order(data[[case[[3]]]]), ]
  fit <- gee::gee(case[[2]], id = data[[case[[3]]]], data = data, family = case[[4]],
                  corstr = "independence", silent = TRUE)
  capture.output(kc <- GEE.var.kc(case[[2]], id = case[[3]], family = case[[4]],
                                  data = data, corstr = "independence"))
  rows[[length(rows) + 1]] <- data.frame(
    data = case[[1]], correlation = "independence", term = names(coef(fit)),
    estimate = unname(coef(fit)), se = sqrt(unname(kc$cov.beta)), alpha = NA
  )
}
out <- do.call(rbind, rows)
write.csv(out, "gee_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("geepack", packageVersion("geepack")),
             paste("geesmv", packageVersion("geesmv")),
             paste("gee", packageVersion("gee"))), "versions.txt")
