"""ganlab: GANs and a kurtosis-regularised autoencoder on PyTorch Lightning + Hydra."""

__version__ = "0.1.0"
