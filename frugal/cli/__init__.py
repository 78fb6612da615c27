"""The ``frugal`` command (``frugal.cli.parser``); ``python -m frugal`` runs the same."""
from frugal.cli.parser import main

__all__ = ["main"]
