"""Residual statistics (native pixels, grid phases) and the tree head they feed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assay.detect.residual_stats import N_FEATURES, PERIODS, residual_features
from assay.detect.trees import TreeHead


def noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_features_have_a_fixed_length_for_any_size() -> None:
    for h, w in ((20, 20), (64, 90), (300, 260)):
        f = residual_features(noise(h, w))
        assert f.shape == (N_FEATURES,) and np.isfinite(f).all()


def test_too_small_an_image_is_refused_with_its_size() -> None:
    with pytest.raises(ValueError, match="at least 20 px a side, got 30x12"):
        residual_features(noise(12, 30))


def test_only_the_centre_region_is_read_and_never_resized() -> None:
    big = noise(320, 320)
    centre = big[48:272, 48:272]  # the 224 px centre region, on the 16 px grid
    np.testing.assert_array_equal(residual_features(big, max_side=224), residual_features(centre, max_side=224))
    assert not np.array_equal(residual_features(big, max_side=224), residual_features(big, max_side=320))


def test_a_decoder_grid_shows_as_phase_dependent_energy() -> None:
    """A transposed convolution's period-2 pattern puts the residual's energy on one phase; noise does not."""
    rng = np.random.default_rng(1)
    photo = np.clip(128 + rng.normal(0, 3, (128, 128, 3)), 0, 255)
    grid = np.zeros((128, 128, 1))
    grid[::2, ::2] = 12.0  # one output pixel in four gets the kernel's extra weight
    spread = lambda img: (lambda f: f[3] - f[0])(residual_features(img.astype(np.uint8)))  # period-2 phases
    assert PERIODS[0] == 2
    assert spread(np.clip(photo + grid, 0, 255)) > 1.0 > spread(photo)


def test_tree_head_matches_scikit_learn_and_round_trips(tmp_path: Path) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + 0.5 * X[:, 3] ** 2 + 0.3 * rng.normal(size=300) > 0.5).astype(int)
    head = TreeHead(trees=30, leaves=7).fit(X, y)
    ref = HistGradientBoostingClassifier(max_iter=30, learning_rate=0.05, max_leaf_nodes=7, class_weight="balanced",
                                         early_stopping=False, random_state=0).fit(X, y)
    test = rng.normal(size=(50, 6))
    np.testing.assert_allclose(head.decision(test), ref.decision_function(test), atol=1e-9)
    head.save(tmp_path / "trees.safetensors")
    again = TreeHead()
    again.load(tmp_path / "trees.safetensors")
    np.testing.assert_array_equal(again.decision(test), head.decision(test))


def test_an_unfitted_tree_head_says_so() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        TreeHead().decision(np.zeros((1, 3)))
