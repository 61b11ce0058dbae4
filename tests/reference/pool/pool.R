# Reference values for cpeval.missing.pool from mice::pool and mice::pool.scalar.
# Run from this folder: Rscript pool.R
# Writes per_imputation.csv (the m estimates and variances pooled by both sides),
# mice_pool.csv (mice::pool on lm fits to m = 7 imputations of mice's nhanes data)
# and pool_scalar.csv (mice::pool.scalar on fixed inputs).
suppressMessages(library(mice))
imp <- mice(nhanes, m = 7, seed = 20261122, printFlag = FALSE)
fit <- with(imp, lm(chl ~ bmi + age))
per <- do.call(rbind, lapply(seq_along(fit$analyses), function(i) {
  s <- summary(fit$analyses[[i]])$coefficients
  data.frame(imputation = i, term = rownames(s), estimate = s[, 1], variance = s[, 2]^2)
}))
write.csv(per, "per_imputation.csv", row.names = FALSE)
p <- pool(fit)$pooled
write.csv(data.frame(term = p$term, m = p$m, estimate = p$estimate, ubar = p$ubar, b = p$b,
                     t = p$t, dfcom = p$dfcom, df = p$df, riv = p$riv, lambda = p$lambda,
                     fmi = p$fmi), "mice_pool.csv", row.names = FALSE)
cases <- list(
  list(q = c(1.0, 1.2, 0.9, 1.1, 1.0), u = c(0.04, 0.05, 0.04, 0.05, 0.045), n = 100, k = 2),
  list(q = c(3.1, 2.7, 3.5), u = c(0.5, 0.6, 0.55), n = Inf, k = 1),
  list(q = c(-0.2, -0.19, -0.21, -0.2, -0.2, -0.22, -0.18, -0.2, -0.2, -0.21),
       u = rep(0.001, 10), n = 30, k = 4),
  list(q = c(2, 2, 2, 2), u = c(0.1, 0.1, 0.1, 0.1), n = 50, k = 1)
)
rows <- NULL
for (i in seq_along(cases)) {
  cs <- cases[[i]]
  r <- pool.scalar(cs$q, cs$u, n = cs$n, k = cs$k)
  rows <- rbind(rows, data.frame(case = i, q = paste(cs$q, collapse = " "),
                                 u = paste(cs$u, collapse = " "), dfcom = cs$n - cs$k,
                                 qbar = r$qbar, ubar = r$ubar, b = r$b, t = r$t,
                                 df = r$df, r = r$r, fmi = r$fmi))
}
write.csv(rows, "pool_scalar.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("mice", packageVersion("mice"))), "versions.txt")
# missingness patterns of nhanes (mice::md.pattern): one row per pattern, count first
mp <- md.pattern(nhanes, plot = FALSE)
pat <- as.data.frame(mp[-nrow(mp), , drop = FALSE])
pat$count <- as.integer(rownames(mp)[-nrow(mp)])
write.csv(pat, "md_pattern.csv", row.names = FALSE)
