# Two-stage least squares reference values for cpeval.models.fit_iv.
# Run from this folder: python make_data.py && Rscript iv.R
# AER::ivreg(outcome ~ fidelity + baseline + age | allocated + baseline + age),
# with sandwich::vcovCL(cluster = ~team, type = "HC1") (G/(G-1) (n-1)/(n-k)), and
# without covariates; the first stage by lm with the same cluster covariance.
# Writes iv_results.csv: model, term, estimate, se (clustered HC1), se_model
# (ivreg's own), first-stage F of the instrument (clustered Wald, 1 df).
suppressMessages({library(AER); library(sandwich)})
d <- read.csv("dose.csv")
out <- NULL
specs <- list(
  adjusted = list(f = outcome ~ fidelity + baseline + age | allocated + baseline + age,
                  first = fidelity ~ allocated + baseline + age),
  plain = list(f = outcome ~ fidelity | allocated, first = fidelity ~ allocated)
)
for (name in names(specs)) {
  fit <- ivreg(specs[[name]]$f, data = d)
  v <- vcovCL(fit, cluster = ~team, type = "HC1")
  first <- lm(specs[[name]]$first, data = d)
  vf <- vcovCL(first, cluster = ~team, type = "HC1")
  fstat <- coef(first)[["allocated"]]^2 / vf["allocated", "allocated"]
  out <- rbind(out, data.frame(model = name, term = names(coef(fit)),
                               estimate = unname(coef(fit)),
                               se = sqrt(diag(v)), se_model = sqrt(diag(vcov(fit))),
                               first_stage_f = fstat, n = nrow(d)))
}
write.csv(out, "iv_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("AER", packageVersion("AER")),
             paste("sandwich", packageVersion("sandwich"))), "versions.txt")
