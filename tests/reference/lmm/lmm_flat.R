# lme4 + lmerTest on flat_boundary.csv (made by make_flat_boundary.py), where the
# REML criterion is nearly flat in the trust variance.
# Run from this folder: Rscript lmm_flat.R  (writes lme4_flat.csv)
suppressMessages({library(lme4); library(lmerTest)})
d <- read.csv("flat_boundary.csv")
m <- lmer(y ~ time * group + x + time:x + (1 | trust/team/id), data = d)
co <- summary(m, ddf = "Satterthwaite")$coefficients
vc <- as.data.frame(VarCorr(m))
terms <- sub("\\(Intercept\\)", "Intercept", rownames(co))
out <- rbind(
  data.frame(quantity = "estimate", term = terms, value = co[, "Estimate"]),
  data.frame(quantity = "se", term = terms, value = co[, "Std. Error"]),
  data.frame(quantity = "df", term = terms, value = co[, "df"]),
  data.frame(quantity = "variance", term = sub(":.*", "", vc$grp), value = vc$vcov),
  data.frame(quantity = "logLik", term = "", value = as.numeric(logLik(m)))
)
write.csv(out, "lme4_flat.csv", row.names = FALSE)
