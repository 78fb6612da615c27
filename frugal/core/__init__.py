"""The hot path and what it reads: the row log, a region's start and stop, ``measure()``, the settings."""
