"""The bench table: one row per case, one column per target, each cell coloured by its ratio to
the row's best target. A ratio is printed only when it is significant; otherwise ≈ (no
significant difference) or ? (too few processes or samples to tell)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .benchfile import MIN_PROCESSES, shortfalls

NOISE_MARK = {"ok": "", "noisy": " ~", "unstable": " !"}
LEGEND = ("x: times slower than the row's best, ≈: no significant difference, "
          "?: too few processes or samples to tell")


def seconds(value: float) -> str:
    """``1.23 ms``: three significant digits in a readable unit."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def _colour(ratio: float) -> str:
    return "bold green" if ratio <= 1.0 else "green" if ratio <= 1.1 else "yellow" if ratio <= 2 else "red"


def _cell(record: dict, best: dict | None) -> Text:
    if not record["validated"] or record["median_s"] is None:
        return Text(record["status"], style="red" if record["status"] != "skip" else "dim")
    text = seconds(record["median_s"]) + NOISE_MARK.get(record.get("noise") or "ok", "")
    if record.get("gbps") is not None:
        text += f" {record['gbps']:.3g} GB/s"
    if record.get("gflops") is not None:
        text += f" {record['gflops']:.3g} GFLOP/s"
    ratio = record["median_s"] / best["median_s"]
    if record is best:
        text += " best"
    else:
        # speedup of the best over this one: stated only when significant
        stated = best["speedup"].get(record["target"])
        text += f" x{stated:.2f}" if stated is not None else f" {unstated(best, record)}"
    text += f"\nfirst {seconds(record['first_call_s'])}" if record.get("first_call_s") else ""
    text += f" +alloc {seconds(record['alloc_median_s'])}" if record.get("alloc_median_s") else ""
    return Text(text, style=_colour(ratio))


def unstated(record: dict, other: dict) -> str:
    """The mark of a ratio between two timed records that is not stated: ``?`` when their
    processes or samples could not tell a difference (``benchfile.shortfalls``), else ``≈``."""
    return "?" if shortfalls([("", record), ("", other)]) else "≈"


def table(doc: dict) -> Table:
    """The performance matrix of a bench document."""
    targets = [t["name"] for t in doc["targets"] if any(r["target"] == t["name"] for r in doc["results"])]
    rows: dict[str, dict[str, dict]] = {}
    for record in doc["results"]:
        rows.setdefault(record["case"], {})[record["target"]] = record
    grid = Table(title=f"median time per call ({LEGEND})")
    grid.add_column("case", overflow="fold")
    for name in targets:
        grid.add_column(name, justify="right")
    for case, cells in rows.items():
        timed = [r for r in cells.values() if r["validated"] and r["median_s"] is not None]
        best = min(timed, key=lambda r: r["median_s"], default=None)
        grid.add_row(Text(case), *(_cell(cells[t], best) if t in cells else Text("") for t in targets))
    return grid


def print_bench(console: Console, doc: dict) -> None:
    """The table, then the harness floor of each target and what the marks mean."""
    console.print(table(doc))
    measured = doc["timing"]["floor_s"]
    names = dict.fromkeys(r["target"] for r in doc["results"])
    floors = ", ".join(f"{t} {seconds(measured[t]) if t in measured else 'n/a (no add)'}" for t in names)
    console.print(f"harness floor (a 1-element add and its sync): {floors}", highlight=False)
    if doc["timing"]["processes"] < MIN_PROCESSES:
        console.print(f"?: no ratio between targets is stated with fewer than {MIN_PROCESSES} processes "
                      f"each (--processes {MIN_PROCESSES} or more): drift between processes exceeds the noise "
                      "within one", highlight=False)
    console.print(f"{doc['timing']['processes']} process(es) per target, interleaved; "
                  "~ IQR/median > 10%, ! > 25%; first: the first call (compilation included); "
                  "+alloc: the time with the allocator cache off",
                  highlight=False)
