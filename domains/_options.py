"""Checks of domain options: one-line ``ValueError`` naming the option, the value and what
was expected (``"dim must be an integer >= 1, got 2.7"``), never a silent coercion.

Integer options take Python or numpy integers only: ``bool`` (``True`` is not 1) and every
float, integral or not (``2.0``), are refused, the same rule as the CLI's option check.
Number options take integers or floats (not ``bool``) and refuse ``nan``/``inf`` unless
allowed. Boolean options take ``True``/``False`` only (the string ``"no"`` is not false).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np


def show(value: Any) -> str:
    """``repr`` of an option's value, numpy scalars as plain Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def integer(name: str, value: Any, minimum: int | None = None, none: bool = False) -> Any:
    """``value`` as an ``int`` (``None`` passes when ``none``), at least ``minimum``."""
    if value is None and none:
        return None
    ok = isinstance(value, numbers.Integral) and not _is_bool(value)
    if ok and (minimum is None or int(value) >= minimum):
        return int(value)
    expected = "an integer" + ("" if minimum is None else f" >= {minimum}")
    if none:
        expected += " or None"
    raise ValueError(f"{name} must be {expected}, got {show(value)}")


def number(
    name: str,
    value: Any,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    none: bool = False,
) -> Any:
    """``value`` as a finite ``float`` (``None`` passes when ``none``) within the limits."""
    if value is None and none:
        return None
    ok = isinstance(value, numbers.Real) and not _is_bool(value)
    x = float(value) if ok else math.nan
    ok = ok and math.isfinite(x)
    ok = ok and (above is None or x > above)
    ok = ok and (at_least is None or x >= at_least)
    ok = ok and (at_most is None or x <= at_most)
    if ok:
        return x
    limits = []
    if above is not None:
        limits.append(f"> {above:g}")
    if at_least is not None:
        limits.append(f">= {at_least:g}")
    if at_most is not None:
        limits.append(f"<= {at_most:g}")
    expected = "a finite number" + (" " + " and ".join(limits) if limits else "")
    if none:
        expected += " or None"
    raise ValueError(f"{name} must be {expected}, got {show(value)}")


def fraction(name: str, value: Any) -> float:
    """A share in ``(0, 1]`` (the offline fraction)."""
    try:
        return number(name, value, above=0.0, at_most=1.0)
    except ValueError:
        raise ValueError(f"{name} must be a number in (0, 1], got {show(value)}") from None


def boolean(name: str, value: Any) -> bool:
    if _is_bool(value):
        return bool(value)
    raise ValueError(f"{name} must be true or false, got {show(value)}")


def string(name: str, value: Any, none: bool = False) -> Any:
    if value is None and none:
        return None
    if isinstance(value, str) and value:
        return value
    expected = "a non-empty string" + (" or None" if none else "")
    raise ValueError(f"{name} must be {expected}, got {show(value)}")


def choice(name: str, value: Any, choices: Iterable[str], none: bool = False) -> Any:
    """One of ``choices`` (case-insensitive; returned lowercase)."""
    options = sorted(choices)
    if value is None and none:
        return None
    if isinstance(value, str) and value.lower() in {c.lower() for c in options}:
        return value.lower()
    tail = " (or None)" if none else ""
    raise ValueError(f"{name} must be one of {options}{tail}, got {show(value)}")


def _all_numbers(value: Any) -> bool:
    """Whether ``value`` is a number or a (nested) list/tuple/array/tensor of numbers only."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iuf"
    if isinstance(value, list | tuple):
        return all(_all_numbers(v) for v in value)
    return isinstance(value, numbers.Real) and not _is_bool(value)


def bounds(lower: Any, upper: Any, what: str = "lower and upper") -> tuple[np.ndarray, np.ndarray]:
    """Box bounds as float64 ``(d,)`` arrays: numbers, finite, one length, ``lower < upper``."""
    arrays = []
    for label, value in (("lower", lower), ("upper", upper)):
        arr = None
        if _all_numbers(value):
            try:
                arr = np.asarray(value, dtype=np.float64).reshape(-1)
            except ValueError:  # ragged nested lists
                arr = None
        if arr is None or arr.size == 0:
            raise ValueError(f"{label} must be a non-empty list of numbers, got {show(value)}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{label} must be finite, got {show(value)}")
        arrays.append(arr)
    lo, hi = arrays
    if lo.shape != hi.shape:
        raise ValueError(
            f"{what} must have one length, got {lo.size} and {hi.size} numbers "
            f"({show(lower)}, {show(upper)})"
        )
    bad = np.flatnonzero(~(lo < hi))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"every lower bound must be below its upper bound; dimension {i} has "
            f"lower={lo[i]:g}, upper={hi[i]:g}"
        )
    return lo, hi
