"""Write the item data used to check reliability against R psych (run once).

Seeded, so rerunning writes the same files. Codes are 1-5 with a few blanks.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def items(rng, n, loadings, missing):
    level = rng.normal(size=(n, 1))
    raw = (
        3
        + level * np.asarray(loadings)
        + rng.normal(scale=0.9, size=(n, len(loadings)))
    )
    codes = np.clip(np.round(raw), 1, 5)
    codes[rng.random(codes.shape) < missing] = np.nan
    return codes


def main():
    rng = np.random.default_rng(20261122)
    loads = [0.9, 0.8, 0.7, 0.9, 0.6, 0.8, 0.9, 1.0, 0.7, 0.9, 0.6, 0.8, 0.7, 1.0]
    waves = []
    for wave in ("baseline", "follow-up"):
        block = pd.DataFrame(
            items(rng, 250, loads, 0.01), columns=[f"wemwbs_{i}" for i in range(1, 15)]
        )
        block.insert(0, "wave", wave)
        waves.append(block)
    pd.concat(waves).to_csv(HERE / "wemwbs_like.csv", index=False)
    # six items; items 2 and 5 are worded the other way round (reverse-keyed)
    codes = items(rng, 60, [0.8, -0.7, 0.6, 0.9, -0.5, 0.7], 0.0)
    pd.DataFrame(codes, columns=[f"r{i}" for i in range(1, 7)]).to_csv(
        HERE / "reverse_keyed.csv", index=False
    )


if __name__ == "__main__":
    main()
