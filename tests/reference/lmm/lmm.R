# Reference values for cpeval.models.fit_lmm from lme4 + lmerTest.
# Run from this folder: Rscript lmm.R  (writes lme4_results.csv, lme4_timing.csv)
suppressMessages({library(lme4); library(lmerTest); library(emmeans)})
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
  if (f[[1]] %in% c("unbalanced", "three_levels") && f[[3]]) {
    # change over time in group 1: time + time:group
    ct <- contest(m, L = c(0, 1, 0, 1), joint = FALSE, ddf = "Satterthwaite")
    add("contrast_estimate", "time+time:group", ct$Estimate)
    add("contrast_se", "time+time:group", ct[["Std. Error"]])
    add("contrast_df", "time+time:group", ct$df)
    em <- as.data.frame(emmeans(m, ~ group * time, lmer.df = "satterthwaite"))
    cell <- paste0("group=", em$group, ", time=", em$time)
    add("emmean", cell, em$emmean)
    add("emmean_se", cell, em$SE)
    add("emmean_df", cell, em$df)
    # ICC of each level with a delta-method SE from lmerTest's vcov_varpar
    th <- getME(m, "theta"); A <- m@vcov_varpar; tot <- 1 + sum(th^2)
    for (k in seq_along(th)) {
      g <- -2 * th * th[k]^2 / tot^2; g[k] <- g[k] + 2 * th[k] / tot
      g <- c(g, 0)
      lev <- sub("[:.].*", "", names(th)[k])
      add("icc", lev, th[k]^2 / tot)
      add("icc_se", lev, sqrt(drop(t(g) %*% A %*% g)))
    }
  }
  timing <- rbind(timing, data.frame(dataset = f[[1]], method = method, seconds = secs,
                                     n_participants = length(unique(d$id)), rows = nrow(d)))
}
# fidelity as a moderator: a team-level fidelity score (1-5, from the team number)
# interacting with time, within the intervention arm (dose-response)
d <- read.csv("unbalanced.csv")
d$fidelity <- as.integer(sub(".*-", "", d$team)) %% 5 + 1
m <- lmer(y ~ time * fidelity + (1 | team/id), data = d[d$group == 1, ])
co <- summary(m, ddf = "Satterthwaite")$coefficients
terms <- sub("\\(Intercept\\)", "Intercept", rownames(co))
for (q in c("estimate", "se", "df")) {
  col <- c(estimate = "Estimate", se = "Std. Error", df = "df")[[q]]
  out <- rbind(out, data.frame(dataset = "fidelity_dose", method = "REML", quantity = q,
                               term = terms, value = co[, col]))
}
write.csv(out, "lme4_results.csv", row.names = FALSE)
write.csv(timing, "lme4_timing.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("lme4", packageVersion("lme4")),
             paste("lmerTest", packageVersion("lmerTest"))), "versions.txt")
