# Reference values for cpeval.adjust.balance_table: cobalt's formulas written out
# (cobalt itself is not packaged for Debian): weighted means; SD denominators from the
# unweighted sample (var with n - 1 for continuous, p(1 - p) for binary); weighted
# variance sum(s (x - m)^2) / (1 - sum(s^2)) with s = w / sum(w); KS from weighted ECDFs.
# Run from this folder: Rscript balance.R  (writes balance_results.csv)
d <- read.csv("../weighting/observational.csv")
w_ate <- read.csv("../weighting/weights.csv")$w_ATE
t <- d$treated
wmean <- function(x, w) sum(w * x) / sum(w)
wvar <- function(x, w) { s <- w / sum(w); m <- sum(s * x); sum(s * (x - m)^2) / (1 - sum(s^2)) }
ks <- function(x, w) {
  v <- sort(unique(x))
  F <- function(xx, ww) sapply(v, function(a) sum(ww[xx <= a]) / sum(ww))
  max(abs(F(x[t == 1], w[t == 1]) - F(x[t == 0], w[t == 0])))
}
out <- NULL
for (name in c("age", "severity", "female")) {
  x <- d[[name]]; bin <- all(x %in% c(0, 1))
  v <- function(z) if (bin) mean(z) * (1 - mean(z)) else var(z)
  denoms <- c(pooled = sqrt((v(x[t == 1]) + v(x[t == 0])) / 2), treated = sqrt(v(x[t == 1])),
              control = sqrt(v(x[t == 0])), all = sqrt(v(x)))
  for (adj in c("", "_adj")) {
    w <- if (adj == "") rep(1, nrow(d)) else w_ate
    diff <- wmean(x[t == 1], w[t == 1]) - wmean(x[t == 0], w[t == 0])
    for (den in names(denoms)) {
      std <- diff / denoms[[den]]
      out <- rbind(out, data.frame(covariate = name, adjusted = adj, denom = den,
                                   raw_diff = diff, std_diff = std,
                                   var_ratio = if (bin) NA else wvar(x[t == 1], w[t == 1]) / wvar(x[t == 0], w[t == 0]),
                                   ks = if (bin) abs(diff) else ks(x, w)))
    }
  }
}
write.csv(out, "balance_results.csv", row.names = FALSE)
writeLines(R.version.string, "versions.txt")
