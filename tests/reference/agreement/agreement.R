# Reference values for cpeval.models.cohen_kappa and icc_ratings.
# Run from this folder: Rscript agreement.R  (writes agreement_results.csv)
suppressMessages({library(vcd); library(psych)})
k <- na.omit(read.csv("kappa.csv"))
tab <- table(factor(k$rater1, levels = 1:5), factor(k$rater2, levels = 1:5))
out <- NULL
add <- function(what, quantity, value) out <<- rbind(out, data.frame(what = what, quantity = quantity, value = value))
for (w in c("Unweighted", "Equal-Spacing", "Fleiss-Cohen")) {
  res <- if (w == "Unweighted") Kappa(tab)$Unweighted else Kappa(tab, weights = w)$Weighted
  name <- c("Unweighted" = "none", "Equal-Spacing" = "linear", "Fleiss-Cohen" = "quadratic")[[w]]
  add(paste0("kappa_", name), "kappa", res[["value"]])
  add(paste0("kappa_", name), "se", res[["ASE"]])
}
ck <- cohen.kappa(cbind(k$rater1, k$rater2))
add("psych_kappa_none", "kappa", ck$kappa)
add("psych_kappa_none", "se", sqrt(ck$var.kappa))
r <- read.csv("ratings.csv")
icc <- ICC(r, lmer = FALSE)$results
for (i in seq_len(nrow(icc))) {
  add(icc$type[i], "icc", icc$ICC[i]); add(icc$type[i], "f", icc$F[i])
  add(icc$type[i], "p_val", icc$p[i])
  add(icc$type[i], "ci_low", icc[["lower bound"]][i]); add(icc$type[i], "ci_high", icc[["upper bound"]][i])
}
write.csv(out, "agreement_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("vcd", packageVersion("vcd")), paste("psych", packageVersion("psych"))), "versions.txt")
