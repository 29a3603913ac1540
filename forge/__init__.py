"""assay.forge: train and run the GAN family; write labelled synthetic face sets; measure their quality."""

from assay.core.exports import public_face

#: the public face (see assay.core.exports): name -> the module of this package that defines it
EXPORTS = {
    "app": "cli",
    "ConditionKey": "conditions",
    "fill_condition": "conditions",
    "keys_of": "conditions",
    "GanConfig": "config",
    "make_config": "config",
    "FaceBatches": "data",
    "to_float": "data",
    "to_uint8": "data",
    "EVAL": "evaluation",
    "EVAL_COLUMNS": "evaluation",
    "evaluate": "evaluation",
    "print_eval_table": "evaluation",
    "interpolation": "explore",
    "mix": "explore",
    "mix_grid": "explore",
    "FAMILIES": "families",
    "tile": "grids",
    "DEFAULT_METRICS": "metrics",
    "INCEPTION_METRICS": "metrics",
    "LatentGenerator": "nets",
    "PANELS": "plots",
    "DEFAULT_LABELS": "sampling",
    "latent": "sampling",
    "load_latent_generator": "sampling",
    "sample": "sampling",
    "StyleGenerator": "stylegan",
    "GANTrainer": "training",
    "Loop": "training",
    "train": "training",
}

__all__ = sorted(EXPORTS)
__getattr__, __dir__ = public_face(__name__, EXPORTS)
