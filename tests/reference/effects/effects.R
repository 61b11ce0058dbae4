# Reference values for cpeval.models.partial_eta_squared.
# Run from this folder: Rscript effects.R  (writes effectsize_results.csv)
# exact_*: noncentrality bounds by uniroot on R's noncentral pf (tol 1e-12);
# ci_*: R effectsize::F_to_eta2(alternative = "two.sided"), which finds the same
# bounds with optim (Nelder-Mead, abstol 1e-9) and so is less precise.
suppressMessages(library(effectsize))
grid <- data.frame(
  f = c(4.0, 0.5, 12.3, 0.0, 2.1, 7.7),
  df1 = c(1, 1, 2, 1, 3, 1),
  df2 = c(100, 40, 60, 151, 25, 113)
)
d <- read.csv("../ancova/pilot_like.csv")  # the pilot-like ANCOVA: F of arm = t^2
t_arm <- summary(lm(followup ~ baseline + arm, data = d))$coefficients["arm", "t value"]
grid <- rbind(grid, data.frame(f = t_arm^2, df1 = 1, df2 = nrow(d) - 3))
bound <- function(f, df1, df2, prob) {
  g <- function(ncp) pf(f, df1, df2, ncp = ncp) - prob
  if (g(0) <= 0) return(0)
  hi <- max(10, 2 * f * df1)
  while (g(hi) > 0) hi <- hi * 2
  uniroot(g, c(0, hi), tol = 1e-12)$root
}
out <- NULL
for (i in seq_len(nrow(grid))) {
  f <- grid$f[i]; a <- grid$df1[i]; b <- grid$df2[i]
  e <- F_to_eta2(f, a, b, ci = 0.95, alternative = "two.sided")
  lo <- bound(f, a, b, 0.975); hi <- bound(f, a, b, 0.025)
  out <- rbind(out, data.frame(f = f, df1 = a, df2 = b, eta2 = e$Eta2_partial,
                               ci_low = e$CI_low, ci_high = e$CI_high,
                               exact_low = lo / (lo + b), exact_high = hi / (hi + b)))
}
write.csv(out, "effectsize_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("effectsize", packageVersion("effectsize"))), "versions.txt")
