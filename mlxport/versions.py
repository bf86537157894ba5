"""Release numbers and PEP 440 version specifiers, as far as MLX's releases need them: a
divergence or skip record may hold only for some releases (``mlx: ">=0.30,<0.32"``).

    holds("0.30.6", ">=0.30,<0.32")  -> True
    holds("0.32.4", "==0.32.*")      -> True

Only release numbers are compared: ``0.31.0.dev20251201`` is ``0.31.0``. ``packaging`` would do
more; this is all a case file needs, and mlxport keeps its dependencies few.
"""

from __future__ import annotations

import re

_CLAUSE = re.compile(r"\s*(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)(\.\*)?\s*")
_RELEASE = re.compile(r"\d+(?:\.\d+)*")


def release(version: str) -> tuple[int, ...]:
    """``"0.30.6"`` -> ``(0, 30, 6)``; a suffix (``.dev1``, ``rc2``, ``+cuda``) is dropped."""
    match = _RELEASE.match(version.strip())
    if not match:
        raise ValueError(f"not a version: {version!r}")
    return tuple(int(p) for p in match.group().split("."))


def problem(spec: str) -> str | None:
    """Why ``spec`` is not a specifier this module reads, else None."""
    for clause in spec.split(","):
        match = _CLAUSE.fullmatch(clause)
        if not match:
            return f"{clause.strip()!r} is not a version clause such as '>=0.30' or '<0.32'"
        if match.group(3) and match.group(1) not in ("==", "!="):
            return f"{clause.strip()!r}: a .* wildcard goes only with == or !="
        if match.group(1) == "~=" and "." not in match.group(2):
            return f"{clause.strip()!r}: ~= needs at least two parts, e.g. ~=0.30"
    return None


def holds(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies every comma-separated clause of ``spec``."""
    have = release(version)
    return all(_clause(have, *_CLAUSE.fullmatch(c).groups()) for c in spec.split(","))


def _clause(have: tuple[int, ...], op: str, number: str, wildcard: str | None) -> bool:
    want = release(number)
    if wildcard:  # ==0.30.* : the first parts are equal
        equal = have[:len(want)] == want
        return equal if op == "==" else not equal
    width = max(len(have), len(want))
    a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
    if op == "~=":  # ~=0.30.2 : >=0.30.2 and ==0.30.*
        return a >= b and have[:len(want) - 1] == want[:-1]
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
