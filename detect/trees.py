"""A gradient-boosted tree ensemble stored as plain tensors.

scikit-learn's histogram gradient boosting fits it; only the trees are kept (per node: feature,
threshold, children, leaf value) and evaluated here with numpy, so saved detectors stay
safetensors files rather than pickles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIELDS = ("feature", "threshold", "left", "right", "leaf", "value")


class TreeHead:
    """z = baseline + sum of the trees' leaf values (a logit for binary labels)."""

    def __init__(self, trees: int = 200, learning_rate: float = 0.05, leaves: int = 15, seed: int = 0) -> None:
        if trees < 1 or leaves < 2:
            raise ValueError(f"need at least 1 tree and 2 leaves, got {trees} trees and {leaves} leaves")
        self.trees, self.learning_rate, self.leaves, self.seed = trees, learning_rate, leaves, seed
        self.nodes: dict[str, np.ndarray] | None = None  # each field: (n_trees, max_nodes)
        self.baseline = 0.0

    def fit(self, X: np.ndarray, y: np.ndarray) -> "TreeHead":
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = HistGradientBoostingClassifier(max_iter=self.trees, learning_rate=self.learning_rate,
                                               max_leaf_nodes=self.leaves, class_weight="balanced",
                                               early_stopping=False, random_state=self.seed)
        model.fit(np.asarray(X, dtype=np.float64), y)
        trees = [stage[0].nodes for stage in model._predictors]
        width = max(len(t) for t in trees)
        self.nodes = {f: np.zeros((len(trees), width), np.int64 if f in ("feature", "left", "right", "leaf")
                                  else np.float64) for f in FIELDS}
        for i, t in enumerate(trees):
            n = len(t)
            self.nodes["feature"][i, :n] = t["feature_idx"]
            self.nodes["threshold"][i, :n] = t["num_threshold"]
            self.nodes["left"][i, :n], self.nodes["right"][i, :n] = t["left"], t["right"]
            self.nodes["leaf"][i, :n] = t["is_leaf"]
            self.nodes["value"][i, :n] = t["value"]
        self.baseline = float(np.ravel(model._baseline_prediction)[0])
        return self

    def decision(self, X: np.ndarray) -> np.ndarray:
        if self.nodes is None:
            raise RuntimeError("the detector is not fitted: call fit() or load a trained one")
        X = np.asarray(X, dtype=np.float64)
        rows = np.arange(len(X))
        z = np.full(len(X), self.baseline)
        nd = self.nodes
        for t in range(len(nd["feature"])):
            node = np.zeros(len(X), np.int64)
            while True:
                inner = nd["leaf"][t, node] == 0
                if not inner.any():
                    break
                left = X[rows, nd["feature"][t, node]] <= nd["threshold"][t, node]
                node = np.where(inner, np.where(left, nd["left"][t, node], nd["right"][t, node]), node)
            z += nd["value"][t, node]
        return z

    def save(self, path: Path) -> None:
        from safetensors.numpy import save_file

        from assay.core.fileio import atomic_path

        with atomic_path(path) as tmp:
            save_file({**self.nodes, "baseline": np.array([self.baseline])}, str(tmp))

    def load(self, path: Path) -> None:
        from safetensors.numpy import load_file

        t = load_file(str(path))
        self.baseline = float(t.pop("baseline")[0])
        self.nodes = {f: t[f] for f in FIELDS}
