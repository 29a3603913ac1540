"""assay detect: Train GAN-face detectors, evaluate them per generator, scan images and videos."""
