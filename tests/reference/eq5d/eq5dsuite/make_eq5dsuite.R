# EuroQol's own value-set tables, as reference numbers for tests/test_eq5d_eq5dsuite.py.
#
# Source: CRAN eq5dsuite 2.0.0 (Rand, Rivero-Arias, Schlackow, Estevez-Carrillo et
# al.; GPL), file R/sysdata.rda, objects .vsets3L (243 states) and .vsets5L (3125
# states), one column per value set named by eq5dsuite's country code. The copy
# used is github.com/cran/eq5dsuite at commit
# ba6251946f137f5dafbd74dcc3fd245ed3515e9b ("version 2.0.0").
#
# Run (R 4.2, base R only):
#   git -C eq5dsuite show ba6251946f137f5dafbd74dcc3fd245ed3515e9b:R/sysdata.rda > sysdata.rda
#   Rscript make_eq5dsuite.R sysdata.rda
# Writes eq5dsuite_3L.csv and eq5dsuite_5L.csv.gz here: the state, then every
# value set's index value as eq5dsuite stores it, rounded to 6 decimals (its
# tables hold 3 or 4; the 6 removes float noise such as 0.8480001). Nothing here
# is computed by cpeval.
args <- commandArgs(trailingOnly = TRUE)
tables <- new.env()
load(args[[1]], envir = tables)
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)))
for (version in c("3L", "5L")) {
  values <- get(paste0(".vsets", version), envir = tables)
  values <- values[order(values$state), ]
  out <- data.frame(state = as.character(values$state))
  for (code in setdiff(names(values), "state")) {
    out[[code]] <- round(values[[code]], 6)
  }
  name <- file.path(here, paste0("eq5dsuite_", version, ".csv"))
  if (version == "5L") {
    connection <- gzfile(paste0(name, ".gz"), "w")
    write.csv(out, connection, row.names = FALSE)
    close(connection)
  } else {
    write.csv(out, name, row.names = FALSE)
  }
}
