"""fluxopt benchmarks: the registry, drivers and the ``make bench`` runner."""
