# Reference values for cpeval.scales.reliability from R psych.
# Run from this folder: Rscript reliability.R  (writes psych_results.csv)
suppressMessages(library(psych))

one <- function(x, dataset, group, scale) {
  x <- na.omit(x)
  a <- psych::alpha(x, check.keys = FALSE, warnings = FALSE)
  o <- suppressWarnings(psych::omega(x, nfactors = 1, plot = FALSE))
  rows <- data.frame(
    dataset = dataset, group = group, scale = scale,
    quantity = c("n", "alpha", "alpha_ci_low", "alpha_ci_high", "omega_total"),
    item = NA,
    value = c(nrow(x), a$total$raw_alpha, a$feldt$lower.ci$raw_alpha,
              a$feldt$upper.ci$raw_alpha, o$omega.tot)
  )
  items <- data.frame(
    dataset = dataset, group = group, scale = scale, quantity = "r_drop",
    item = seq_len(ncol(x)), value = a$item.stats$r.drop
  )
  rbind(rows, items)
}

w <- read.csv("wemwbs_like.csv")
out <- NULL
for (g in unique(w$wave)) {
  out <- rbind(out, one(w[w$wave == g, -1], "wemwbs_like", g, "total"))
}
r <- read.csv("reverse_keyed.csv")
r$r2 <- 6 - r$r2  # reverse keys: 1 + 5 - code
r$r5 <- 6 - r$r5
out <- rbind(out, one(r, "reverse_keyed", "", "total"))
write.csv(out, "psych_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("psych", packageVersion("psych")),
             paste("GPArotation", packageVersion("GPArotation"))), "versions.txt")
