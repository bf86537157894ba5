"""Every cell of one target that does not pass, grouped by op, status and cause, as Markdown:
what docs/results/mlx-cpu-*.md holds.

    mlxport check --json results.json
    python benchmarks/nonpass.py results.json mlx:cpu > docs/results/mlx-cpu-DATE.md

The cause is the divergence reason recorded in the case data where there is one (mismatch,
error, crash, timeout), else the cell's own message (MLX's words for unsupported, the case
data's reason for skip).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

ORDER = ("mismatch", "unsupported", "error", "crash", "timeout", "skip")  # the statuses counted


def render(doc: dict, target: str) -> str:
    info = next(t for t in doc["targets"] if t["name"] == target)
    cells = [r for r in doc["results"] if r["target"] == target]
    counts = {s: sum(r["status"] == s for r in cells) for s in ("pass", *ORDER)}
    summary = doc["summary"][target]
    groups: dict[tuple, list[str]] = defaultdict(list)
    for r in cells:
        if r["status"] != "pass":
            groups[(r["op"], r["status"], r.get("known") or r["message"])].append(r["case"])
    lines = [f"# {target}: every cell that does not pass, with its cause", "",
             f"`mlxport check --json`, {doc['created']}: {info['framework']} {info['framework_version']} on "
             f"{info['device_name']} ({doc['host'].get('cores', '?')} cores), Python {doc['host']['python']}.", "",
             f"{len(cells)} cells: " + ", ".join(f"{n} {s}" for s, n in counts.items())
             + f"; coverage {100 * summary['coverage']:.1f}%.", "",
             "Each group is one op, one status and one cause: for mismatch, error, crash and timeout the "
             "divergence reason recorded in the case data (with the MLX source it comes from), for "
             "unsupported MLX's own message (porting debt), for skip the case data's reason. No cell fails "
             "without a cause.", ""]
    for (op, status, cause), ids in sorted(groups.items(), key=lambda g: g[0][:2]):
        lines += [f"## {op}: {status} ×{len(ids)}", "", cause, ""] + [f"- `{i}`" for i in ids] + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(render(json.load(f), sys.argv[2] if len(sys.argv) > 2 else "mlx:cpu"), end="")
