# Reference values for cpeval.models.fit_gee from geepack::geeglm.
# Run from this folder: Rscript gee.R  (writes the data sets and gee_results.csv)
suppressPackageStartupMessages(library(geepack))
data(ohio); data(respiratory); data(dietox)
respiratory$treat <- as.integer(respiratory$treat == "A")  # active = 1
respiratory$sex <- NULL
respiratory$id <- respiratory$center * 1000 + respiratory$id  # ids reused by centre
dietox <- dietox[, c("Pig", "Time", "Weight", "Cu")]
write.csv(ohio, "ohio.csv", row.names = FALSE)
write.csv(respiratory, "respiratory.csv", row.names = FALSE)
write.csv(dietox, "dietox.csv", row.names = FALSE)
cases <- list(
  list("ohio", resp ~ age + smoke, "id", binomial, "independence", ohio),
  list("ohio", resp ~ age + smoke, "id", binomial, "exchangeable", ohio),
  list("respiratory", outcome ~ treat + baseline + age + visit, "id", binomial,
       "exchangeable", respiratory),
  list("dietox", Weight ~ Time + factor(Cu), "Pig", gaussian, "exchangeable", dietox),
  # a count model (log link) on the 0/1 wheeze counts, as a Poisson GEE
  list("ohio_poisson", resp ~ age + smoke, "id", poisson, "exchangeable", ohio)
)
rows <- list()
for (case in cases) {
  data <- case[[6]]
  data <- data[order(data[[case[[3]]]]), ]
  data$.id <- data[[case[[3]]]]
  fit <- geeglm(case[[2]], id = .id, data = data, family = case[[4]], corstr = case[[5]])
  s <- summary(fit)
  alpha <- if (case[[5]] == "exchangeable") s$corr["alpha", "Estimate"] else NA
  rows[[length(rows) + 1]] <- data.frame(
    data = case[[1]], correlation = case[[5]], term = rownames(coef(s)),
    estimate = coef(s)[, "Estimate"], se = coef(s)[, "Std.err"], alpha = alpha
  )
}
out <- do.call(rbind, rows)
write.csv(out, "gee_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("geepack", packageVersion("geepack"))), "versions.txt")
