# Subgroup effects and interaction tests: reference values for
# cpeval.models.subgroup_effects. Run from this folder:
#   python make_data.py && Rscript subgroups.R
# Model: lm(outcome ~ baseline + age + S + S:allocated), so each level of the
# subgroup S has its own coefficient of allocated (the effect in that level).
# Clustered: clubSandwich coef_test(vcov = "CR2", cluster = team, test =
# "Satterthwaite") for each level's effect, and Wald_test(constraints =
# constrain_equal(<the S:allocated terms>), vcov = "CR2", test = "HTZ") for the
# interaction (all levels' effects equal). Unclustered: summary.lm and the
# F test of anova(lm without S:allocated but with allocated, the full model).
# Writes effects.csv (one row per case and level) and tests.csv (one per case).
suppressMessages(library(clubSandwich))
d <- read.csv("subgroups.csv")
cases <- list(
  client_cr2 = list(s = "client_group", cluster = TRUE),
  sex_cr2 = list(s = "sex", cluster = TRUE),
  client_ols = list(s = "client_group", cluster = FALSE),
  sex_ols_noage = list(s = "sex", cluster = FALSE, nocov = TRUE)
)
effects <- NULL
tests <- NULL
for (name in names(cases)) {
  case <- cases[[name]]
  d$S <- factor(d[[case$s]])
  cov <- if (isTRUE(case$nocov)) "" else " + age"
  f1 <- as.formula(paste0("outcome ~ baseline", cov, " + S + S:allocated"))
  fit <- lm(f1, data = d)
  terms <- grep(":allocated$", names(coef(fit)), value = TRUE)
  if (case$cluster) {
    ct <- coef_test(fit, vcov = "CR2", cluster = d$team, test = "Satterthwaite")
    ct <- ct[match(terms, ct$Coef), ]
    effects <- rbind(effects, data.frame(case = name, level = levels(d$S),
      estimate = ct$beta, se = ct$SE, df = ct$df_Satt, p = ct$p_Satt))
    w <- Wald_test(fit, constraints = constrain_equal(terms), vcov = "CR2",
                   cluster = d$team, test = "HTZ")
    tests <- rbind(tests, data.frame(case = name, F = w$Fstat, df_num = w$df_num,
      df_denom = w$df_denom, p = w$p_val, n = nrow(d)))
  } else {
    s <- summary(fit)$coefficients[terms, ]
    effects <- rbind(effects, data.frame(case = name, level = levels(d$S),
      estimate = s[, 1], se = s[, 2], df = fit$df.residual, p = s[, 4]))
    f0 <- as.formula(paste0("outcome ~ baseline", cov, " + S + allocated"))
    a <- anova(lm(f0, data = d), fit)
    tests <- rbind(tests, data.frame(case = name, F = a$F[2], df_num = a$Df[2],
      df_denom = a$Res.Df[2], p = a$`Pr(>F)`[2], n = nrow(d)))
  }
}
write.csv(effects, "effects.csv", row.names = FALSE)
write.csv(tests, "tests.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("clubSandwich", packageVersion("clubSandwich"))),
           "versions.txt")
