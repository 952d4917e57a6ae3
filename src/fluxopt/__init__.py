"""fluxopt: flux orientation and scored shortlists for French social housing."""

__version__ = "0.1.0"
