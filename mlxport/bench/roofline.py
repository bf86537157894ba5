"""``mlxport bench --plot FILE``: a roofline per target from a bench document (a run's or a saved
``--json``). Each timed case that declares flops is a point at (flops / bytes, GFLOP/s); each
target's measured ceilings are its bandwidth line (GB/s x intensity) and its float32 GEMM flat
roof. Log-log, one panel per target, every point labelled with its op. Needs matplotlib (the
``plot`` extra); it draws with the Agg backend, so no display is needed.

    write(benchfile.load(Path("bench.json")), Path("roofline.png"))
"""

from __future__ import annotations

import math
from pathlib import Path

from ..model import InputError


def points(doc: dict) -> dict[str, list[tuple[str, float, float]]]:
    """Per target, the (op, intensity in flops/byte, GFLOP/s) of every timed case with flops."""
    found: dict[str, list[tuple[str, float, float]]] = {}
    for record in doc.get("results", []):
        if record.get("gflops") and record.get("bytes"):
            found.setdefault(record["target"], []).append(
                (record["op"], record["flops"] / record["bytes"], record["gflops"]))
    return found


def write(doc: dict, path: Path) -> None:
    """Draw the rooflines of ``doc`` into the PNG (or any matplotlib format) ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # a file, never a window
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'mlxport[plot]'") from None
    found, peaks = points(doc), doc.get("device_peaks") or doc.get("peaks") or {}
    targets = list(found) or ["(no timed case declares flops)"]
    fig, axes = plt.subplots(1, len(targets), figsize=(7 * len(targets), 6), squeeze=False)
    for ax, target in zip(axes[0], targets):
        _panel(ax, target, found.get(target, []), peaks.get(target) or {})
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _panel(ax, target: str, pts: list[tuple[str, float, float]], peak: dict) -> None:
    xs = [p[1] for p in pts] or [1.0]
    lo, hi = min(xs) / 4, max(xs) * 4
    bw, roof = peak.get("bandwidth_gbps"), peak.get("flops_gflops")
    if bw and roof:
        ridge = roof / bw  # where the bandwidth line meets the flat roof
        lo, hi = min(lo, ridge / 4), max(hi, ridge * 4)
        xline = [lo, ridge, hi]
        ax.plot(xline, [min(bw * x, roof) for x in xline], color="black", lw=1.5,
                label=f"measured: {bw:.3g} GB/s, {roof:.3g} GFLOP/s (float32 GEMM)")
    elif bw:
        ax.plot([lo, hi], [bw * lo, bw * hi], color="black", lw=1.5, label=f"measured: {bw:.3g} GB/s")
    ops = sorted({p[0] for p in pts})
    markers = "osD^v<>ph*"
    labelled: set[tuple[str, float, float]] = set()
    for i, op in enumerate(ops):
        mine = [p for p in pts if p[0] == op]
        ax.scatter([p[1] for p in mine], [p[2] for p in mine], marker=markers[i % len(markers)], s=40, zorder=3)
        for _, x, y in mine:
            spot = (op, round(math.log10(x), 1), round(math.log10(y), 1))  # one label per crowd
            if spot not in labelled:
                labelled.add(spot)
                ax.annotate(op, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    top = max([p[2] for p in pts] + [roof or 0, 1e-3])
    ax.set_ylim(10 ** math.floor(math.log10(min([p[2] for p in pts] + [top]) / 2)), top * 3)
    ax.set_xlabel("arithmetic intensity (flops / byte)")
    ax.set_ylabel("achieved GFLOP/s")
    ax.set_title(f"{target}" + ("" if peak else " (no peaks: run with --calibrate)"))
    ax.grid(True, which="both", alpha=0.3)
    if bw:
        ax.legend(loc="lower right", fontsize=8)
