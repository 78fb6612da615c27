"""Rows become numbers: numpy columns with energy derived, ``Measurement`` objects, pandas frames."""
