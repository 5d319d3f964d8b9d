"""One LightningDataModule per dataset family."""

from ganlab.data.toy2d import Mixture, Toy2DDataModule, grid_mixture, ring_mixture

__all__ = ["Mixture", "Toy2DDataModule", "grid_mixture", "ring_mixture"]
