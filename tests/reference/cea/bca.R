# BCa reference values from R boot.ci on unequal arms, where its acceleration
# (empirical influence values over all participants, ignoring strata) differs
# from cpeval's default (jackknife within arm).
# Run from this folder: Rscript bca.R
# Data: trial.csv, every arm-1 participant (140) and the first 60 of arm 0.
# Writes bca_unequal_draws.csv (R's 2,000 replicates of the two differences) and
# bca_unequal.csv (boot.ci's BCa limits and its acceleration a for each).
suppressMessages(library(boot))
d <- read.csv("trial.csv")
d <- rbind(d[d$arm == 1, ], head(d[d$arm == 0, ], 60))
stat <- function(data, i) {
  x <- data[i, ]
  c(mean(x$cost_shifted[x$arm == 1]) - mean(x$cost_shifted[x$arm == 0]),
    mean(x$qaly[x$arm == 1]) - mean(x$qaly[x$arm == 0]))
}
set.seed(20261204)
b <- boot(d, stat, R = 2000, strata = d$arm)
draws <- data.frame(delta_cost = b$t[, 1], delta_effect = b$t[, 2])
write.csv(draws, "bca_unequal_draws.csv", row.names = FALSE)
out <- NULL
for (k in 1:2) {
  name <- c("delta_cost", "delta_effect")[k]
  ci <- boot.ci(b, type = "bca", index = k)
  L <- empinf(b, index = k, t = NULL)
  a <- sum(L^3) / (6 * sum(L^2)^1.5)
  out <- rbind(out, data.frame(
    quantity = paste0(c("estimate_", "bca_low_", "bca_high_", "acceleration_"), name),
    value = c(b$t0[k], ci$bca[4:5], a)
  ))
}
write.csv(out, "bca_unequal.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("boot", packageVersion("boot"))), "versions_bca.txt")
