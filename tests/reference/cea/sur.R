# Reference values for cpeval.economics.adjusted_incremental (SUR) from systemfit.
# Run from this folder: Rscript sur.R  (writes systemfit_results.csv)
# Residual covariance without degrees-of-freedom correction (methodResidCov =
# "noDfCor"), one FGLS step: the estimator linearmodels' SUR computes.
suppressMessages(library(systemfit))
d <- read.csv("trial.csv")
out <- NULL
specs <- list(
  different = list(cost = cost_shifted ~ arm + age, qaly = qaly ~ arm + u0),
  same = list(cost = cost_shifted ~ arm + age + u0, qaly = qaly ~ arm + age + u0)
)
for (name in names(specs)) {
  fit <- systemfit(specs[[name]], method = "SUR", data = d, methodResidCov = "noDfCor")
  cf <- coef(fit); v <- vcov(fit)
  out <- rbind(out, data.frame(spec = name, term = names(cf), estimate = cf,
                               se = sqrt(diag(v)), cov_arm = v[, "cost_arm"][names(cf)]))
}
write.csv(out, "systemfit_results.csv", row.names = FALSE)
ols <- lm(cost_shifted ~ arm + age + u0, data = d)
cat(coef(ols)["arm"], "\n")
writeLines(c(R.version.string, paste("systemfit", packageVersion("systemfit"))), "versions_sur.txt")
# gamma-log cost model: recycled predictions and a delta-method SE, by hand in R
g <- glm(cost_shifted ~ arm + age, family = Gamma(link = "log"), data = d)
X1 <- model.matrix(g, data = transform(d, arm = 1)); X0 <- model.matrix(g, data = transform(d, arm = 0))
mu1 <- exp(X1 %*% coef(g)); mu0 <- exp(X0 %*% coef(g))
grad <- colMeans(X1 * as.vector(mu1)) - colMeans(X0 * as.vector(mu0))
write.csv(data.frame(delta_cost = mean(mu1) - mean(mu0),
                     se = sqrt(drop(t(grad) %*% vcov(g) %*% grad))), "gamma_results.csv", row.names = FALSE)
