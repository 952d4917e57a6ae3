"""The solver-neutral optimisation model: named column and row blocks over sparse arrays."""

from fluxopt.model.blocks import ColumnBlock, LinearModel, ModelBuilder, RowBlock

__all__ = ["ColumnBlock", "LinearModel", "ModelBuilder", "RowBlock"]
