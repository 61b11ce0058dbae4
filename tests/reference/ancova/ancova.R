# Reference values for cpeval.models.ancova (CR2 + Satterthwaite, as clubSandwich).
# Run from this folder: Rscript ancova.R  (writes clubsandwich_results.csv)
suppressMessages({library(clubSandwich); library(sandwich)})
out <- NULL
for (ds in c("pilot_like", "few_clusters")) {
  d <- read.csv(paste0(ds, ".csv"))
  fit <- lm(followup ~ baseline + arm + age, data = d)
  ct <- coef_test(fit, vcov = "CR2", cluster = d$cluster, test = "Satterthwaite")
  ci <- conf_int(fit, vcov = "CR2", cluster = d$cluster, test = "Satterthwaite", level = 0.95)
  ols <- summary(fit)$coefficients
  out <- rbind(out, data.frame(
    dataset = ds, term = rownames(ols), estimate = coef(fit),
    se_ols = ols[, "Std. Error"], se_cr2 = ct$SE, df_satt = ct$df_Satt,
    p_satt = ct$p_Satt, ci_low = ci$CI_L, ci_high = ci$CI_U,
    df_resid = fit$df.residual
  ))
}
write.csv(out, "clubsandwich_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("clubSandwich", packageVersion("clubSandwich")),
             paste("sandwich", packageVersion("sandwich"))), "versions.txt")
