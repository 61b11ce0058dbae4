# Reference values for cpeval.economics.bootstrap_cea from R boot (stratified),
# on cost_shifted and qaly of trial.csv.
# Run from this folder: Rscript cea.R
# Writes boot_summary.csv (point estimates, bootstrap SEs, CEAC and EVPI from R's
# draws) and boot_draws.csv (R's replicates, for computing CEAC and EVPI from the
# same draws).
suppressMessages(library(boot))
d <- read.csv("trial.csv")
stat <- function(data, i) {
  x <- data[i, ]
  c(mean(x$cost_shifted[x$arm == 1]) - mean(x$cost_shifted[x$arm == 0]),
    mean(x$qaly[x$arm == 1]) - mean(x$qaly[x$arm == 0]))
}
set.seed(20261122)
b <- boot(d, stat, R = 5000, strata = d$arm)
draws <- data.frame(delta_cost = b$t[, 1], delta_effect = b$t[, 2])
write.csv(draws, "boot_draws.csv", row.names = FALSE)
wtp <- c(0, 5000, 10000, 15000, 20000, 30000, 50000)
inmb <- sapply(wtp, function(k) k * draws$delta_effect - draws$delta_cost)
ceac <- colMeans(inmb > 0)
evpi <- colMeans(pmax(inmb, 0)) - pmax(colMeans(inmb), 0)
out <- rbind(
  data.frame(quantity = c("delta_cost", "delta_effect"), wtp = NA, value = b$t0),
  data.frame(quantity = c("se_cost", "se_effect"), wtp = NA, value = apply(b$t, 2, sd)),
  data.frame(quantity = "ceac", wtp = wtp, value = ceac),
  data.frame(quantity = "evpi", wtp = wtp, value = evpi)
)
for (k in 1:2) {
  ci <- boot.ci(b, type = c("perc", "bca"), index = k)
  name <- c("delta_cost", "delta_effect")[k]
  out <- rbind(out, data.frame(quantity = paste0(c("perc_low_", "perc_high_", "bca_low_", "bca_high_"), name),
                               wtp = NA, value = c(ci$percent[4:5], ci$bca[4:5])))
}
write.csv(out, "boot_summary.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("boot", packageVersion("boot"))), "versions.txt")
