# Dose (fidelity) on cost-effectiveness by two-stage least squares, allocation as
# the instrument: reference values for cpeval's [dose] rows of costs, QALYs and
# net monetary benefit (DiazOrdaz, Franchini and Grieve 2018, JRSS A 181:765, IV
# for cost-effectiveness; net benefit regression, Hoch et al. 2002).
# Run from this folder: python make_dose_cea.py && Rscript dose_cea.R
# AER::ivreg(y ~ fidelity + utility0 + cost0 | allocated + utility0 + cost0) for y
# = cost, qaly and the net monetary benefit nb = wtp * qaly - cost at wtp 20000
# and 30000, with sandwich::vcovCL(cluster = ~team, type = "HC1").
# Writes dose_cea_results.csv: outcome, estimate, se (clustered HC1), n.
suppressMessages({library(AER); library(sandwich)})
d <- read.csv("dose_cea.csv")
d$nb20000 <- 20000 * d$qaly - d$cost
d$nb30000 <- 30000 * d$qaly - d$cost
out <- NULL
for (y in c("cost", "qaly", "nb20000", "nb30000")) {
  f <- as.formula(paste(y, "~ fidelity + utility0 + cost0 | allocated + utility0 + cost0"))
  fit <- ivreg(f, data = d)
  v <- vcovCL(fit, cluster = ~team, type = "HC1")
  out <- rbind(out, data.frame(outcome = y, estimate = coef(fit)[["fidelity"]],
                               se = sqrt(v["fidelity", "fidelity"]), n = nrow(d)))
}
write.csv(out, "dose_cea_results.csv", row.names = FALSE)
