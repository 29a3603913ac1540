"""Every detector, one module each; :data:`detect.base.DETECTORS` imports them on its first lookup."""
