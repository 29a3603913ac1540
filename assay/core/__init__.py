"""What every subsystem shares: workspace and catalog, file/image/video IO, image sets, faces,
registries, configs, CLI helpers, devices. It imports no subsystem."""

__version__ = "0.1.0"
