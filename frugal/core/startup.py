"""What ``import frugal`` decides before any settings exist: whether snapshot 0 can wait.

Building the settings (``frugal.core.settings``, a dataclass: ``dataclasses`` imports
``inspect``, ``ast``, ``dis``...) costs about as much as the rest of ``import frugal``. When no
``FRUGAL_*`` variable is set and no energy meter can exist here, snapshot 0 is the defaults
and no meter is in force, which is what the hot path assumes before any settings are made:
the settings are then built when first asked for (``configure``, ``environment``, results).
Standard library only.
"""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from collections.abc import Mapping

POWERCAP_ROOT = "/sys/class/powercap"   # the default ``powercap_root`` setting (RAPL's counters)

deferred = False
"""True when ``import frugal`` left snapshot 0 to be built later: it saw no ``FRUGAL_*`` variable,
so snapshot 0 is built from none (a variable set afterwards is not read, as before)."""


def no_meter_possible(energy: str, powercap_root: str, gpu: bool) -> bool:
    """True when ``energy="auto"`` can find no meter: no powercap tree, no NVIDIA driver (two stat calls)."""
    if energy != "auto" or os.path.isdir(powercap_root):
        return False
    return not gpu or (sys.platform.startswith("linux") and not os.path.exists("/dev/nvidiactl"))


def settings_can_wait(environ: Mapping[str, str] | None = None) -> bool:
    """Whether snapshot 0 may be built later: no ``FRUGAL_*`` variable is set (an unrelated
    one too makes it build now: cautious, never wrong), and the default settings find no
    meter. Records the answer in ``deferred``."""
    global deferred
    environ = os.environ if environ is None else environ
    deferred = (not any(k.startswith("FRUGAL_") for k in environ)
                and no_meter_possible("auto", POWERCAP_ROOT, True))
    return deferred
