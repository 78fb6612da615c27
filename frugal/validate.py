"""The checks every argument and setting goes through: each ``check_*`` returns the normalised
value or raises a ``TypeError``/``ValueError`` that names the argument or setting (standard library only)."""
from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any


def float_of(value: numbers.Real) -> float:
    """``float(value)``, with an int beyond a float's range read as infinite (then refused)."""
    try:
        return float(value)
    except OverflowError:
        return -math.inf if value < 0 else math.inf


def check_number(name: str, value: Any, low: float = 0.0, high: float = math.inf, *,
                 low_open: bool = False, optional: bool = False, unit: str = "") -> Any:
    """A finite real number in [low, high] (``(low, high]`` with ``low_open``) as a float.

    ``optional``: None is accepted and returned. A bool, a str or another type is a
    ``TypeError``; a number out of range (or NaN, or infinite) a ``ValueError``; both name
    ``name`` and say what is accepted.
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        kind = "a number or None" if optional else "a number"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    v = float_of(value)
    if not (math.isfinite(v) and (low < v if low_open else low <= v) and v <= high):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        upper = f" and <= {high:g}" if math.isfinite(high) else ""
        raise ValueError(f"{name}={value!r} is out of range: accepted a finite number {bound}{upper}"
                         f"{unit}{' (or None)' if optional else ''}")
    return v


def parse_number(value: object, what: str) -> float:
    """A finite number >= 0 (not a bool); ``what`` names the argument in the error."""
    return float(check_number(what, value))


def check_int(name: str, value: Any, low: int = 0, high: int | None = None) -> int:
    """A whole number (not a bool) in [low, high]; ``ValueError``/``TypeError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number >= {low}, got {type(value).__name__}")
    if value < low or (high is not None and not value <= high):
        upper = f" and <= {high}" if high is not None else ""
        raise ValueError(f"{name} must be a whole number >= {low}{upper}, got {value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """One of ``choices`` (strings)."""
    accepted = ", ".join(map(repr, choices))
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {accepted}; got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not accepted: one of {accepted}")
    return value


def check_bool(name: str, value: Any, optional: bool = False) -> Any:
    """True or False (None too with ``optional``); anything else is a ``TypeError``."""
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False{' or None' if optional else ''}, "
                        f"got {type(value).__name__}")
    return value


def check_text(name: str, value: Any, optional: bool = False) -> Any:
    """A non-empty str (None too with ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str{' or None' if optional else ''}, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value


def check_path(name: str, value: Any, optional: bool = False) -> Any:
    """A non-empty path (str or os.PathLike, not bytes) without NUL, as a str."""
    if value is None and optional:
        return None
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike){' or None' if optional else ''}, "
                        f"got {type(value).__name__}")
    text = os.fspath(value)
    if not isinstance(text, str) or not text:
        raise ValueError(f"{name}={value!r} is not accepted: a non-empty path")
    if "\x00" in text:
        raise ValueError(f"{name}={redact(text)!r} is not accepted: a path cannot hold a NUL character")
    return text


# --- a store URL (a PostgreSQL server): recognised, and shown without its password ------------

URL_SCHEMES = ("postgresql", "postgres")       # the store URLs frugal opens (frugal.store.postgres)
# ``re`` is imported on the first URL seen, not at ``import frugal`` (about 4 ms)
_URL = r"[A-Za-z][A-Za-z0-9+.-]*://"
_SECRETS = ((r"(://[^/@\s:]*:)[^@\s]*(@)", r"\1***\2", False),            # user:PASSWORD@host
            (r"((?:^|[?&\s])password=)[^&\s]*", r"\1***", True))  # ?password=... or conninfo, any case


def _re() -> ModuleType:
    import re   # re caches the compiled patterns

    return re


def is_url(value: Any) -> bool:
    """True when ``value`` is a str (or path) that starts with a URL scheme (``name://``)."""
    return isinstance(value, (str, os.PathLike)) and isinstance(os.fspath(value), str) \
        and _re().match(_URL, os.fspath(value)) is not None


def redact(text: str) -> str:
    """``text`` with the password of any URL or ``password=`` setting in it replaced by ``***``:
    how a store URL is shown anywhere (warnings, errors, settings, pages)."""
    re = _re()
    for pattern, replacement, any_case in _SECRETS:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE if any_case else 0)
    return text
