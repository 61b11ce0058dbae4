# Reference values for cpeval.models.effect_by_wave on three waves.
# Run from this folder: Rscript waves.R  (writes waves_results.csv; versions in versions.txt)
suppressMessages({library(lme4); library(lmerTest); library(clubSandwich)})
d <- read.csv("three_waves.csv", stringsAsFactors = FALSE)
d$cp <- as.numeric(d$arm == "CP")        # the intervention, which sorts first
out <- NULL
add <- function(analysis, wave, quantity, value) {
  out <<- rbind(out, data.frame(analysis = analysis, wave = wave, quantity = quantity,
                                value = value))
}
# mixed model: wave a factor, arm x wave interaction, baseline covariates
m <- lmer(y ~ factor(month) * cp + age + sex + (1 | team/id), data = d, REML = TRUE)
co <- summary(m, ddf = "Satterthwaite")$coefficients
for (k in c(6, 12)) {
  term <- paste0("factor(month)", k, ":cp")
  add("lmm", k, "estimate", co[term, "Estimate"])
  add("lmm", k, "se", co[term, "Std. Error"])
  add("lmm", k, "df", co[term, "df"])
  add("lmm", k, "p", co[term, "Pr(>|t|)"])
  add("lmm", k, "n_obs", nobs(m))
}
# ANCOVA at each follow-up wave, CR2 by team with Satterthwaite df
base <- d[d$month == 0, c("id", "team", "cp", "age", "sex", "y")]
for (k in c(6, 12)) {
  w <- merge(base, d[d$month == k, c("id", "y")], by = "id", suffixes = c("0", "k"))
  fit <- lm(yk ~ y0 + cp + age + sex, data = w)
  ct <- coef_test(fit, vcov = "CR2", cluster = w$team, test = "Satterthwaite")
  row <- which(ct$Coef == "cp")
  add("ancova", k, "estimate", ct$beta[row])
  add("ancova", k, "se", ct$SE[row])
  add("ancova", k, "df", ct$df_Satt[row])
  add("ancova", k, "p", ct$p_Satt[row])
  add("ancova", k, "n_obs", nobs(fit))
}
write.csv(out, "waves_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("lme4", packageVersion("lme4")),
             paste("lmerTest", packageVersion("lmerTest")),
             paste("clubSandwich", packageVersion("clubSandwich"))), "versions.txt")
