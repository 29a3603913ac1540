"""Residual co-occurrence features: normalised histograms, centre region, what an up-sampler changes."""

from __future__ import annotations

import numpy as np

from assay.detect.cooccurrence import LEVELS, N_FEATURES, T, TRIPLETS, cooccurrence_features


def noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_every_histogram_is_normalised_and_features_are_hellinger() -> None:
    f = cooccurrence_features(noise(64, 80))
    assert f.shape == (N_FEATURES,) and (f >= 0).all()
    assert np.isclose((f ** 2).sum(), 10.0)  # 6 triplet and 4 pair histograms, each summing to 1


def test_a_flat_image_puts_all_mass_on_zero_residuals() -> None:
    f = cooccurrence_features(np.full((40, 40, 3), 128, np.uint8))
    zero = (T * LEVELS + T) * LEVELS + T
    assert f[zero] == 1.0 and f[:TRIPLETS].sum() == 1.0


def test_only_the_centre_region_is_read_at_native_pixels() -> None:
    big = noise(300, 300)
    centre = big[50:250, 50:250]
    np.testing.assert_array_equal(cooccurrence_features(big, max_side=200), cooccurrence_features(centre, max_side=200))
    assert not np.array_equal(cooccurrence_features(big, max_side=200), cooccurrence_features(big, max_side=300))


def test_nearest_upsampling_shows_as_zero_first_order_residuals() -> None:
    small = noise(40, 40, seed=1)
    upsampled = small.repeat(2, axis=0).repeat(2, axis=1)
    zero = (T * LEVELS + T) * LEVELS + T
    # every other horizontal first-order residual of a x2 nearest copy is 0, in a photo of noise almost none
    assert cooccurrence_features(upsampled)[zero] > 3 * cooccurrence_features(noise(80, 80, seed=1))[zero]
