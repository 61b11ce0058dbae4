# Kenward-Roger reference values for cpeval.models._kr from pbkrtest + lmerTest.
# Run from this folder: Rscript kr.R
# (writes sleepstudy.csv, small.csv, kr_results.csv and versions.txt)
suppressMessages({library(lme4); library(lmerTest); library(pbkrtest)})

# (b) lme4's sleepstudy
data(sleepstudy, package = "lme4")
write.csv(sleepstudy, "sleepstudy.csv", row.names = FALSE)

# (c) six clusters of unequal size, cluster-level treatment, random intercept and
# slope of time: KR and Satterthwaite differ noticeably (SE and df of treat)
set.seed(4)
sizes <- c(3, 5, 8, 12, 20, 34)
cluster <- rep(sprintf("C%d", 1:6), sizes)
treat <- rep(c(1, 0, 1, 0, 0, 1), sizes)
x <- round(rnorm(sum(sizes)), 3)
time <- unlist(lapply(sizes, function(s) sample(0:3, s, replace = TRUE)))
u0 <- rnorm(6, 0, 1.0)[as.integer(factor(cluster))]
u1 <- rnorm(6, 0, 0.5)[as.integer(factor(cluster))]
y <- round(10 + 0.5 * treat + 0.3 * x + 0.4 * time + u0 + u1 * time +
             rnorm(length(cluster)), 4)
small <- data.frame(cluster = cluster, treat = treat, time = time, x = x, y = y)
write.csv(small, "small.csv", row.names = FALSE)

cases <- list(
  # case, data, formula, multi-row hypothesis L (rows) for KRmodcomp
  list("unbalanced", read.csv("../lmm/unbalanced.csv"),
       y ~ time * group + (1 | team/id),
       rbind(c(0, 0, 1, 0), c(0, 0, 0, 1))),            # group, time:group
  list("sleepstudy", sleepstudy, Reaction ~ Days + (Days | Subject),
       rbind(c(1, 0), c(1, 9))),                         # means at day 0 and day 9
  list("small", small, y ~ treat + time + x + (time | cluster),
       rbind(c(0, 1, 0, 0), c(0, 0, 1, 0), c(0, 0, 0, 1)))  # treat, time, x
)
out <- NULL
for (case in cases) {
  name <- case[[1]]
  m <- lmer(case[[3]], data = case[[2]], REML = TRUE)
  if (isSingular(m)) stop(name, ": singular fit")
  add <- function(quantity, value, row = NA, col = NA, label = "") {
    out <<- rbind(out, data.frame(case = name, quantity = quantity, row = row, col = col,
                                  label = label, value = as.numeric(value)))
  }
  p <- length(fixef(m))
  coef_names <- sub("\\(Intercept\\)", "Intercept", names(fixef(m)))
  idx <- function(k) rep(seq_len(k), k)             # row index of a column-major matrix
  jdx <- function(k) rep(seq_len(k), each = k)
  # random-effect terms in lme4's order: grouping factor, components, levels
  cnms <- getME(m, "cnms"); flist <- getME(m, "flist")
  for (t in seq_along(cnms)) {
    add("term_components", length(cnms[[t]]), row = t, label = names(cnms)[t])
    add("term_levels", nlevels(flist[[names(cnms)[t]]]), row = t, label = names(cnms)[t])
  }
  th <- getME(m, "theta")
  add("theta", th, row = seq_along(th), label = names(th))
  add("sigma", sigma(m))
  add("beta", fixef(m), row = seq_len(p), label = coef_names)
  add("vcov", as.matrix(vcov(m)), row = idx(p), col = jdx(p))
  adj <- vcovAdj(m)
  add("vcov_adj", as.matrix(adj), row = idx(p), col = jdx(p))
  k <- nrow(attr(adj, "W"))
  add("W", as.matrix(attr(adj, "W")), row = idx(k), col = jdx(k))
  kr <- summary(m, ddf = "Kenward-Roger")$coefficients
  sat <- summary(m, ddf = "Satterthwaite")$coefficients
  add("kr_se", kr[, "Std. Error"], row = seq_len(p), label = coef_names)
  add("kr_df", kr[, "df"], row = seq_len(p), label = coef_names)
  add("sat_se", sat[, "Std. Error"], row = seq_len(p), label = coef_names)
  add("sat_df", sat[, "df"], row = seq_len(p), label = coef_names)
  L <- case[[4]]
  add("L", L, row = rep(seq_len(nrow(L)), ncol(L)), col = rep(seq_len(ncol(L)), each = nrow(L)))
  km <- KRmodcomp(m, L)
  s <- km$stats
  add("krmodcomp_F", s$Fstat); add("krmodcomp_ndf", s$ndf); add("krmodcomp_ddf", s$ddf)
  add("krmodcomp_Fscaling", s$F.scaling); add("krmodcomp_p", s$p.value)
  add("krmodcomp_FU", s$FstatU); add("krmodcomp_pU", s$p.valueU)
  add("krmodcomp_A1", s$aux[["A1"]]); add("krmodcomp_A2", s$aux[["A2"]])
}
write.csv(out, "kr_results.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("lme4", packageVersion("lme4")),
             paste("lmerTest", packageVersion("lmerTest")),
             paste("pbkrtest", packageVersion("pbkrtest")),
             paste("Matrix", packageVersion("Matrix"))), "versions.txt")
