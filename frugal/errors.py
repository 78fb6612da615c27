"""frugal's exceptions: one root; user mistakes are ValueError/TypeError naming the argument."""


class FrugalError(Exception):
    """Root of frugal's own errors (misuse of a result, an unusable store...)."""
