"""assay.detect: train GAN-face detectors, evaluate them per generator, scan images and videos."""

from assay.core.exports import public_face

#: the public face (see assay.core.exports): name -> the module of this package that defines it
EXPORTS = {
    "jpeg": "augment",
    "rescale": "augment",
    "Detector": "base",
    "DETECTORS": "base",
    "app": "cli",
    "assemble": "data",
    "Assembled": "data",
    "Item": "data",
    "parse_encode": "data",
    "reencode": "data",
    "codec_of": "domain",
    "auc": "evaluate",
    "average_precision": "evaluate",
    "compute_metrics": "evaluate",
    "eer": "evaluate",
    "report_rows": "evaluate",
    "explainer_for": "explain",
    "EXPLAINERS": "explain",
    "import_checkpoint": "importing",
    "IMPORT_FORMATS": "importing",
    "leave_one_out": "loo",
    "conformal_threshold": "operating",
    "Region": "regions",
    "WHOLE_IMAGE": "regions",
    "PERTURBATIONS": "robustness",
    "find_media": "scan",
    "Scan": "scan",
    "scan_paths": "scan",
    "ScanOptions": "scan",
    "flat_row": "scan_output",
    "result_output": "scan_output",
    "summary_line": "scan_output",
    "TableWriter": "scan_output",
    "run_simulator": "simulate",
    "train_simulators": "simulate",
    "load_detector": "store",
    "DetectTrainConfig": "training",
    "fit_and_test": "training",
    "PRESETS": "training",
    "train": "training",
}

__all__ = sorted(EXPORTS)
__getattr__, __dir__ = public_face(__name__, EXPORTS)
