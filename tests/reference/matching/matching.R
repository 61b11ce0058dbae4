# Reference matched sets from MatchIt (nearest neighbour, without replacement).
# Run from this folder: Rscript matching.R  (writes matchit_pairs.csv)
#
# The propensity score comes from glm; the distance is given to matchit as the matrix
# |ps_i - ps_j|, which runs MatchIt's nn_matchC (treated in data order; m.order =
# "data"), with calipers in score units (std.caliper = FALSE). The default vector
# path (nn_matchC_vec) of Debian's MatchIt 4.5.1 was not used: on these data it
# ignored the caliper (every caliper gave the same 192 pairs, up to 0.145 apart) and
# skipped nearer unused controls, so it cannot serve as a reference.
suppressMessages(library(MatchIt))
d <- read.csv("../weighting/observational.csv")
ps <- fitted(glm(treated ~ age + severity + female, family = binomial, data = d))
dm <- abs(outer(ps, ps, "-"))
specs <- list(
  list(name = "nocal", args = list()),
  list(name = "cal002", args = list(caliper = 0.02, std.caliper = FALSE)),
  list(name = "cal003_ratio2", args = list(caliper = 0.03, std.caliper = FALSE, ratio = 2)),
  list(name = "cal002_exact", args = list(caliper = 0.02, std.caliper = FALSE, exact = ~female)),
  list(name = "replace_ratio2", args = list(replace = TRUE, ratio = 2))
)
out <- NULL
for (s in specs) {
  m <- suppressWarnings(do.call(matchit, c(list(treated ~ age + severity + female, data = d,
    method = "nearest", distance = dm, m.order = "data"),
    modifyList(list(replace = FALSE), s$args))))
  mm <- m$match.matrix
  for (r in seq_len(nrow(mm))) for (k in seq_len(ncol(mm))) {
    if (!is.na(mm[r, k])) out <- rbind(out, data.frame(spec = s$name,
      treated = as.integer(rownames(mm)[r]), control = as.integer(mm[r, k])))
  }
  w <- m$weights
  write.csv(data.frame(weight = w), paste0("matchit_weights_", s$name, ".csv"), row.names = FALSE)
}
write.csv(out, "matchit_pairs.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("MatchIt", packageVersion("MatchIt"))), "versions.txt")
