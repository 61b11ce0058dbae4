# Reference values for cpeval.adjust (propensity scores, IPW, svyglm SEs, balance).
# Run from this folder: Rscript weighting.R
suppressMessages(library(survey))
d <- read.csv("observational.csv")
ps_fit <- glm(treated ~ age + severity + female, family = binomial, data = d)
e <- fitted(ps_fit); t <- d$treated
w <- list(
  ATE = t / e + (1 - t) / (1 - e),
  ATE_stab = (t / e) * mean(t) + ((1 - t) / (1 - e)) * (1 - mean(t)),
  ATT = t + (1 - t) * e / (1 - e),
  ATO = t * (1 - e) + (1 - t) * e
)
write.csv(data.frame(ps = e, w_ATE = w$ATE, w_ATE_stab = w$ATE_stab, w_ATT = w$ATT,
                     w_ATO = w$ATO), "weights.csv", row.names = FALSE)
out <- NULL
add <- function(what, term, quantity, value) out <<- rbind(out, data.frame(what = what, term = term, quantity = quantity, value = value))
for (est in c("ATE", "ATT", "ATO")) {
  d$w <- w[[est]]
  for (cl in c("none", "team")) {
    des <- if (cl == "none") svydesign(ids = ~1, weights = ~w, data = d) else svydesign(ids = ~team, weights = ~w, data = d)
    for (model in c("plain", "dr")) {
      f <- if (model == "plain") y ~ treated else y ~ treated + age + severity + female
      s <- summary(svyglm(f, design = des))
      co <- s$coefficients
      what <- paste(est, cl, model, sep = "_")
      add(what, rownames(co), "estimate", co[, 1])
      add(what, rownames(co), "se", co[, 2])
      add(what, rownames(co), "p", co[, 4])
      add(what, "", "df", s$df.residual)
    }
  }
}
write.csv(out, "svyglm_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("survey", packageVersion("survey"))), "versions.txt")
