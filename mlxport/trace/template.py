"""A call's arguments as a template: the values of a traced call with :class:`Slot` for each
array and :class:`DType` for each dtype, filled in once per framework (``runner._arguments``)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .calls import DType, Slot


def fill(value: Any, arrays: Sequence, dtype: Callable[[str], Any]) -> Any:
    """``value`` with each ``Slot(i)`` replaced by ``arrays[i]`` and each ``DType(name)`` by
    ``dtype(name)``, at any depth of lists, tuples and dicts; every other value as it is.

    >>> fill(([Slot(1), Slot(0)], {"axis": 0}), ["a", "b"], str.upper)
    (['b', 'a'], {'axis': 0})
    """
    if isinstance(value, Slot):
        return arrays[value.index]
    if isinstance(value, DType):
        return dtype(value.name)
    if isinstance(value, (list, tuple)):
        return type(value)(fill(v, arrays, dtype) for v in value)
    if isinstance(value, dict):
        return {k: fill(v, arrays, dtype) for k, v in value.items()}
    return value
