"""The MBO order-book engine and what is built on it (dense grids come next)."""
