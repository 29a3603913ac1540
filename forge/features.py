"""Feature spaces the sample-quality metrics are measured in: each turns N x H x W x 3 uint8 images
into an N x D float array.

- ``dlib``: the 128-d dlib face embedding of each image fed as an aligned face chip (the whole
  image is the face box; the 5 landmarks are found inside it). Offline, CPU, ~80 ms per image.
- ``face``: 1.0 where dlib's HOG detector finds a face, else 0.0 (the face rate's feature).
- ``inception``: the standard Inception-v3 (pt_inception-2015-12-05, TensorFlow-compatible port of
  torch-fidelity) pool features (2048) and unbiased logits (1008), only from a weights file whose
  hash matches the published one (:func:`load_inception`).

Features of prepared real sets are cached in the workspace (``cache/features/``), keyed by the
space, the image size and the rows' pixel hashes, so a real set is embedded once per size.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from assay.core import faces
from assay.core.errors import InputError, ModelError
from assay.core.fileio import atomic_write_bytes, sha256_file
from assay.core.registry import Registry


@dataclass(frozen=True)
class FeatureOptions:
    """What a feature space may need besides the images."""

    progress: bool = False
    inception_weights: str | None = None


FeatureFn = Callable[[np.ndarray, FeatureOptions], np.ndarray]
FEATURES: Registry[FeatureFn] = Registry("feature space")

#: torch-fidelity's port of the TF Inception graph that FID and IS are defined with; torch.hub
#: names a published file after the first hex digits of its sha256 ("...-6726825d.pth"), and that
#: prefix is all that is published, so it is what is checked (as ``torch.hub``'s ``check_hash`` does)
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 "weights-inception-2015-12-05-6726825d.pth")
INCEPTION_SHA256_PREFIX = "6726825d"
INCEPTION_BATCH = 32


class InceptionWeightsError(ModelError):
    """A weights file that is not the standard Inception network FID and IS are defined with."""


def _bar(total: int, desc: str, progress: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False)


@FEATURES.register("dlib", dim=128, summary="dlib 128-d face embedding of the image as an aligned face chip")
def dlib_embedding(images: np.ndarray, opts: FeatureOptions = FeatureOptions()) -> np.ndarray:
    out = np.zeros((len(images), 128), dtype=np.float32)
    with _bar(len(images), "dlib embedding", opts.progress) as bar:
        for i, img in enumerate(images):
            box = (0, 0, img.shape[1] - 1, img.shape[0] - 1)
            out[i] = faces.embed(img, faces.landmarks_in_box(img, box), box)
            bar.update(1)
    return out


@FEATURES.register("face", dim=1, summary="1 where dlib's HOG detector finds a face")
def face_found(images: np.ndarray, opts: FeatureOptions = FeatureOptions()) -> np.ndarray:
    out = np.zeros((len(images), 1), dtype=np.float32)
    with _bar(len(images), "face detection", opts.progress) as bar:
        for i, img in enumerate(images):
            out[i] = float(bool(faces.detect_faces(img)))
            bar.update(1)
    return out


def _checked_sha256(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"--inception-weights: no file at {path}")
    sha = sha256_file(path)
    if not sha.startswith(INCEPTION_SHA256_PREFIX):
        raise InceptionWeightsError(
            f"{path} is not the standard Inception weights (sha256 {sha[:16]}..., expected {INCEPTION_SHA256_PREFIX}...: "
            f"{INCEPTION_URL}); refusing to report FID, KID or IS with it")
    return sha


@functools.lru_cache(maxsize=2)
def load_inception(path: str) -> tuple[Any, str]:
    """torch-fidelity's Inception-v3 with the weights at ``path`` (hash checked first) and their sha256."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    sha = _checked_sha256(Path(path))
    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                      feature_extractor_weights_path=path)
    return net, sha


@FEATURES.register("inception", dim=2048 + 1008,
                   summary="standard Inception-v3 pool features (2048) then unbiased logits (1008); needs the weights file")
def inception_features(images: np.ndarray, opts: FeatureOptions = FeatureOptions()) -> np.ndarray:
    import torch

    if not opts.inception_weights:
        raise InputError("FID, KID and IS need the standard Inception weights: pass --inception-weights FILE "
                         f"({INCEPTION_URL})")
    net, _ = load_inception(opts.inception_weights)
    parts = []
    with _bar(len(images), "inception", opts.progress) as bar, torch.no_grad():
        for start in range(0, len(images), INCEPTION_BATCH):
            x = torch.from_numpy(np.ascontiguousarray(images[start:start + INCEPTION_BATCH])).permute(0, 3, 1, 2)
            pool, logits = net(x)
            parts.append(torch.cat([pool, logits], dim=1).numpy())
            bar.update(len(x))
    return np.concatenate(parts) if parts else np.zeros((0, 2048 + 1008), dtype=np.float32)


def cache_key(space: str, size: int, shas: Sequence[str]) -> str:
    """Name of a real set's cached features: the space, the size and the hash of the rows' pixel hashes."""
    h = hashlib.sha256("\n".join(shas).encode()).hexdigest()[:24]
    return f"{space}-{size}-{h}"


def cached(folder: Path | None, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Features from ``folder/<key>.npy``, computed and stored (atomically) when absent."""
    if folder is None:
        return compute()
    path = folder / f"{key}.npy"
    if path.exists():
        return np.load(path)
    import io

    feats = compute()
    buf = io.BytesIO()
    np.save(buf, feats)
    atomic_write_bytes(path, buf.getvalue())
    return feats
