"""assay forge: Train and run the GAN family; write labelled synthetic face sets."""
