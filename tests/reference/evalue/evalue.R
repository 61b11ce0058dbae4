# E-value reference values from R EValue 4.1.4 (VanderWeele, Ding, Mathur et al.;
# CRAN, GPL-2), for tests/test_evalue.py.
# EValue is not packaged for Debian: this script sources the package's own R files
# (R/EValue.R, R/effect_measures.R, R/utils.R; base R only for these functions) from
# a copy of its source, github.com/cran/EValue at commit
# 44c2dc4a ("version 4.1.4"):
#   git -C EValue archive 44c2dc4 R | tar -x -C EValue-src
#   Rscript evalue.R EValue-src/R
# Writes evalue_results.csv: each case's inputs and EValue's three E-values (point,
# lower, upper; NA where EValue reports none).
args <- commandArgs(trailingOnly = TRUE)
for (f in c("utils.R", "effect_measures.R", "EValue.R")) source(file.path(args[[1]], f))
wrapmessage <- function(...) invisible(NULL)  # quiet
row <- function(case, measure, est, lo, hi, se, rare, true, res) {
  data.frame(case = case, measure = measure, est = est, lo = lo, hi = hi, se = se,
             rare = rare, true = true,
             e_point = res["E-values", "point"], e_lower = res["E-values", "lower"],
             e_upper = res["E-values", "upper"])
}
out <- NULL
rr <- list(
  c(3.9, 1.8, 8.7, 1), c(0.8, 0.71, 0.91, 1), c(1.2, 0.9, 1.6, 1),
  c(0.5, 0.2, 1.3, 1), c(2.0, 1.5, 2.7, 1.2), c(1.5, 1.1, 2.0, 2),
  c(1, 0.8, 1.25, 1), c(0.6, 0.45, 0.8, 0.9)
)
for (k in seq_along(rr)) {
  x <- rr[[k]]
  res <- evalues.RR(x[1], x[2], x[3], true = x[4])
  out <- rbind(out, row(paste0("RR", k), "RR", x[1], x[2], x[3], NA, NA, x[4], res))
}
ratios <- list(
  list("OR", 0.86, 0.75, 0.99, FALSE), list("OR", 0.86, 0.75, 0.99, TRUE),
  list("OR", 2.5, 1.4, 4.4, FALSE), list("HR", 0.56, 0.46, 0.69, FALSE),
  list("HR", 0.56, 0.46, 0.69, TRUE), list("HR", 1.8, 0.9, 3.6, FALSE)
)
for (k in seq_along(ratios)) {
  x <- ratios[[k]]
  f <- if (x[[1]] == "OR") evalues.OR else evalues.HR
  res <- f(x[[2]], x[[3]], x[[4]], rare = x[[5]])
  out <- rbind(out, row(paste0(x[[1]], k), x[[1]], x[[2]], x[[3]], x[[4]], NA,
                        x[[5]], 1, res))
}
smd <- list(c(0.5, 0.2, 0), c(-0.3, 0.1, 0), c(0.1, 0.15, 0), c(0.8, 0.25, 0.2))
for (k in seq_along(smd)) {
  x <- smd[[k]]
  res <- evalues.MD(x[1], se = x[2], true = x[3])
  out <- rbind(out, row(paste0("SMD", k), "SMD", x[1], NA, NA, x[2], NA, x[3], res))
}
res <- evalues.OLS(2.4, se = 0.9, sd = 6.2)
out <- rbind(out, row("OLS1", "difference", 2.4, NA, NA, 0.9, NA, 0, res))
out$sd <- ifelse(out$case == "OLS1", 6.2, NA)
write.csv(out, "evalue_results.csv", row.names = FALSE)
writeLines(c(R.version.string, "EValue 4.1.4 (sourced, github cran/EValue@44c2dc4a)"),
           "versions.txt")
