"""Per stress class: its cells, and per target the cells that do not pass, with their causes.

    mlxport check --json results.json
    python benchmarks/stress_classes.py results.json

A cell's class is its case's (the catalog, read here); every non-pass cell has a recorded reason
(``known``), or it is listed as unexplained.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict

from mlxport.check import Selection, select_cases
from mlxport.schema import STRESS_CLASSES


def render(doc: dict) -> str:
    stress = {c.id: c.stress for c in select_cases(Selection()) if c.stress}
    targets = [t["name"] for t in doc["targets"] if t["available"] and t["name"] in doc["summary"]]
    cells: dict[str, Counter] = defaultdict(Counter)
    failing: dict[tuple[str, str], Counter] = defaultdict(Counter)
    unexplained: list[str] = []
    for r in doc["results"]:
        kind = stress.get(r["case"])
        if kind is None:
            continue
        cells[kind][r["target"]] += 1
        if r["status"] not in ("pass", "skip", "xpass"):
            failing[(kind, r["target"])][f"{r['op']} {r['status']}"] += 1
            if not r.get("known") and r["status"] != "unsupported":
                unexplained.append(f"{r['target']} {r['case']}: {r['status']}: {r['message']}")
    lines = ["| class | cells per target | " + " | ".join(f"not passing on {t}" for t in targets) + " |",
             "|---" * (2 + len(targets)) + "|"]
    for kind in STRESS_CLASSES:
        per = [", ".join(f"{op} ×{n}" for op, n in sorted(failing[(kind, t)].items())) or "none"
               for t in targets]
        count = max(cells[kind].values(), default=0)
        lines.append(f"| {kind} | {count} | " + " | ".join(f"{sum(failing[(kind, t)].values())}: {p}"
                                                         for t, p in zip(targets, per)) + " |")
    lines += ["", f"unexplained (no recorded reason, not porting debt): {len(unexplained)}"]
    lines += [f"- {u}" for u in unexplained]
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        print(render(json.load(handle)))
