# Reference values for cpeval.power.closed_form_power, computed in R 4.2.2 with
# base stats only: the non-central t power of a two-arm comparison of follow-up
# means in a cluster design, SE^2 = 2 DE / (k m), DE = 1 + ((cv^2 + 1) m - 1) icc
# (Eldridge, Ashby & Kerry 2006), df = clusters - 2.
# Run from this folder: Rscript closed_form.R  (writes closed_form.csv)
grid <- expand.grid(effect = c(0.2, 0.5, 0.8), clusters = c(6, 10, 20, 40),
                    cluster_size = c(8, 16, 40), icc = c(0, 0.02, 0.1),
                    cluster_size_cv = c(0, 0.6), alpha = 0.05)
grid <- grid[seq(1, nrow(grid), by = 3), ]
power <- mapply(function(effect, clusters, m, icc, cv, alpha) {
  de <- 1 + ((cv^2 + 1) * m - 1) * icc
  se <- sqrt(2 * de / (clusters / 2 * m))
  df <- clusters - 2
  crit <- qt(1 - alpha / 2, df)
  ncp <- effect / se
  1 - pt(crit, df, ncp = ncp) + pt(-crit, df, ncp = ncp)
}, grid$effect, grid$clusters, grid$cluster_size, grid$icc, grid$cluster_size_cv,
grid$alpha)
grid$power <- power
write.csv(grid, "closed_form.csv", row.names = FALSE)
