"""Ensembles of in-the-wild recipes, from the raw scores a detect_in_the_wild.py run kept.

Every recipe of one run saw the same files (the run's seed fixes them), so their scores line up.
For each fold, condition and subset of the run's recipes, each recipe's raw scores are
standardised on its own calibration reals (their mean and standard deviation) and averaged.
Reported: the held-out AUC, and at the conformal threshold on the calibration reals for
``--target-fpr`` (as the benchmark and ``assay detect calibrate`` set it) the test reals'
false-positive rate and the held-out fakes' recall.

    .venv/bin/python benchmarks/wild_ensemble.py benchmarks/results/detect_in_the_wild.json
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assay.core.clitools import err, print_table  # noqa: E402
from assay.core.fileio import atomic_write_json, read_json  # noqa: E402
from assay.detect import conformal_threshold  # noqa: E402
from benchmarks.detect_in_the_wild import auc_against  # noqa: E402


def standardised(raw: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(test reals, held-out fakes, calibration reals), each in units of the calibration reals' spread."""
    calibration = np.asarray(raw["calibration"], float)
    mean, std = calibration.mean(), calibration.std() + 1e-9
    real = np.concatenate([np.asarray(raw["real"][source], float) for source in sorted(raw["real"])])
    return (real - mean) / std, (np.asarray(raw["fake"], float) - mean) / std, (calibration - mean) / std


def combine(raws: list[dict[str, Any]], target_fpr: float) -> dict[str, float]:
    """AUC, and FPR and recall at the calibrated threshold, of the mean standardised score."""
    real, fake, calibration = (np.mean(parts, axis=0) for parts in zip(*map(standardised, raws)))
    threshold = conformal_threshold(calibration, target_fpr)
    return {"auc": auc_against(real, fake),
            "fpr_calibrated": float((real >= threshold).mean()), "recall_calibrated": float((fake >= threshold).mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path, help="a detect_in_the_wild.py results JSON")
    ap.add_argument("--target-fpr", type=float, default=0.05)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/wild_ensemble.json"))
    args = ap.parse_args()
    recipes = read_json(args.results)["recipes"]
    names = sorted(recipes)
    rows, out = [], {"source": str(args.results), "target_fpr": args.target_fpr, "ensembles": []}
    for fold, entry in recipes[names[0]]["folds"].items():
        for condition in entry["conditions"]:
            for size in range(1, len(names) + 1):
                for subset in itertools.combinations(names, size):
                    try:
                        raws = [recipes[n]["folds"][fold]["conditions"][condition]["raw_scores"] for n in subset]
                    except KeyError:
                        raise SystemExit(f"{args.results}: recipe scores are missing for {fold}/{condition}: "
                                         "rerun detect_in_the_wild.py (it keeps raw scores)") from None
                    figures = combine(raws, args.target_fpr)
                    out["ensembles"].append({"fold": fold, "condition": condition, "recipes": list(subset), **figures})
                    rows.append({"held out": fold, "test": condition, "recipes": "+".join(subset),
                                 **{k: round(v, 3) for k, v in figures.items()}})
    print_table(rows, list(rows[0]), title="recipe ensembles (mean of calibration-standardised raw scores)")
    atomic_write_json(args.out, out)
    err.print(f"results written to {args.out}", markup=False, highlight=False)


if __name__ == "__main__":
    main()
