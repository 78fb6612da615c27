"""The ``frugal`` command: ``main`` (``frugal.cli.parser``) and one module per command.

``python -m frugal`` runs the same.
"""
from frugal.cli.parser import main

__all__ = ["main"]
