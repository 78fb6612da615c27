"""The null memory probe: measures nothing and says why."""
from __future__ import annotations


class NullMemoryProbe:
    """Used where no memory source works; every reading is ``None``, never a guess."""

    name = "none"
    exact = False

    def __init__(self, why: str) -> None:
        self.why = f"no memory probe: {why}"

    def reset(self) -> None:
        pass

    def mark_kb(self) -> None:
        return None

    def rss_kb(self) -> None:
        return None

    def reopen(self) -> None:
        pass
