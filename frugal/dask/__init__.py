"""Footprints of Dask workloads: every task of a cluster measured on the worker that ran it.

``with frugal.dask.track(client) as tracker: ...`` then ``tracker.results()``. Importing
this module imports nothing of Dask; ``track`` does, when it is called. Needs the
``frugal[dask]`` extra, and frugal installed on the workers and the scheduler too.
"""
from __future__ import annotations

from frugal.dask._tracker import LostWorker, Tracker, track

__all__ = ["LostWorker", "Tracker", "track"]
