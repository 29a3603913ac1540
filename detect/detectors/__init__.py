"""Every detector module; importing this package fills :data:`detect.base.DETECTORS`."""

from detect.detectors import spectral  # noqa: F401
