# Reference values for cpeval.models.fit_lmm from lme4 + lmerTest.
# Run from this folder: Rscript lmm.R  (writes lme4_results.csv, lme4_timing.csv)
suppressMessages({library(lme4); library(lmerTest)})
fits <- list(
  list("small_nearzero", "y ~ time * group + (1 | team/id)", TRUE),
  list("unbalanced", "y ~ time * group + (1 | team/id)", TRUE),
  list("unbalanced", "y ~ time * group + (1 | team/id)", FALSE),
  list("three_levels", "y ~ time * group + (1 | trust/team/id)", TRUE),
  list("large", "y ~ time * group + (1 | team/id)", TRUE)
)
out <- NULL; timing <- NULL
for (f in fits) {
  d <- read.csv(paste0(f[[1]], ".csv"))
  secs <- system.time(m <- lmer(as.formula(f[[2]]), data = d, REML = f[[3]]))[["elapsed"]]
  co <- summary(m, ddf = "Satterthwaite")$coefficients
  vc <- as.data.frame(VarCorr(m))
  method <- if (f[[3]]) "REML" else "ML"
  add <- function(quantity, term, value) {
    out <<- rbind(out, data.frame(dataset = f[[1]], method = method, quantity = quantity,
                                  term = term, value = value))
  }
  terms <- sub("\\(Intercept\\)", "Intercept", rownames(co))
  add("estimate", terms, co[, "Estimate"])
  add("se", terms, co[, "Std. Error"])
  add("df", terms, co[, "df"])
  add("p", terms, co[, "Pr(>|t|)"])
  add("variance", sub(":.*", "", vc$grp), vc$vcov)
  add("logLik", "", as.numeric(logLik(m)))
  add("singular", "", as.numeric(isSingular(m)))
  timing <- rbind(timing, data.frame(dataset = f[[1]], method = method, seconds = secs,
                                     n_participants = length(unique(d$id)), rows = nrow(d)))
}
write.csv(out, "lme4_results.csv", row.names = FALSE)
write.csv(timing, "lme4_timing.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("lme4", packageVersion("lme4")),
             paste("lmerTest", packageVersion("lmerTest"))), "versions.txt")
