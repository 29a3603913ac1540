"""assay.forge: train and run the GAN family; write labelled synthetic face sets; measure their quality."""

from assay.core.exports import public_face

#: the public face (see assay.core.exports): name -> the module of this package that defines it
EXPORTS = {
    "app": "cli",
    "ConditionKey": "conditions",
    "fill_condition": "conditions",
    "keys_of": "conditions",
    "DiscriminatorOptions": "config",
    "GanConfig": "config",
    "GeneratorOptions": "config",
    "load_config": "config",
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
    "LatentGenerator": "networks",
    "StyleGenerator": "networks.stylegan",
    "PANELS": "plots",
    "AutoencoderConfig": "autoencoder",
    "resynthesise": "autoencoder",
    "realign": "aligned",
    "realign_config": "aligned",
    "DEFAULT_LABELS": "sampling",
    "generate": "sampling",
    "generate_batch": "sampling",
    "latent": "sampling",
    "load_latent_generator": "sampling",
    "sample": "sampling",
    "GANTrainer": "training",
    "Loop": "training",
    "train": "training",
}

__all__ = sorted(EXPORTS)
__getattr__, __dir__ = public_face(__name__, EXPORTS)
