"""Every detector module; importing this package fills :data:`detect.base.DETECTORS`."""

from detect.detectors import cnn, dct, ensemble, npr, spectral  # noqa: F401
