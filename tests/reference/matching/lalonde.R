# A caliper that MatchIt 4.5.1 does not keep, and the plain greedy loop cpeval equals.
# Run from this folder: Rscript lalonde.R   (Debian r-cran-matchit 4.5.1)
# Data: MatchIt's lalonde (Dehejia and Wahba's NSW subsample, 614 rows).
# Writes lalonde.csv (the data with R's glm propensity score), lalonde_greedy.csv
# (pairs of a plain greedy loop: treated rows by decreasing score, each taking the
# nearest unused control within 0.2 SD of the score, ties to the first in data
# order; 1-based rows) and lalonde_matchit.csv (MatchIt's count of pairs and of
# pairs farther apart than the caliper, with the same score and caliper).
suppressMessages(library(MatchIt))
data("lalonde", package = "MatchIt")
f <- treat ~ age + educ + race + married + nodegree + re74 + re75
ps <- fitted(glm(f, data = lalonde, family = binomial))
cal <- 0.2 * sd(ps)
tr <- which(lalonde$treat == 1)
co <- which(lalonde$treat == 0)
used <- rep(FALSE, length(ps))
pairs <- NULL
for (t in tr[order(-ps[tr], tr)]) {
  cand <- co[!used[co] & abs(ps[co] - ps[t]) <= cal]
  if (!length(cand)) next
  c <- cand[which.min(abs(ps[cand] - ps[t]))]
  used[c] <- TRUE
  pairs <- rbind(pairs, c(t, c))
}
m <- matchit(f, data = lalonde, method = "nearest", caliper = 0.2, distance = "glm")
mm <- m$match.matrix
mt <- rownames(mm)[!is.na(mm[, 1])]
gap <- abs(m$distance[match(mt, rownames(lalonde))] -
           m$distance[match(mm[mt, 1], rownames(lalonde))])
out <- lalonde
out$race <- as.character(out$race)
rownames(out) <- NULL
write.csv(cbind(out, ps = ps), "lalonde.csv", row.names = FALSE)
write.csv(data.frame(treated = pairs[, 1], control = pairs[, 2]), "lalonde_greedy.csv",
          row.names = FALSE)
write.csv(data.frame(caliper = cal, matchit_pairs = length(mt),
                     matchit_outside_caliper = sum(gap > cal),
                     greedy_pairs = nrow(pairs),
                     matchit = as.character(packageVersion("MatchIt"))),
          "lalonde_matchit.csv", row.names = FALSE)
