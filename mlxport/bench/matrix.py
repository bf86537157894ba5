"""The bench matrix as Markdown, from a bench document (a run's or a saved ``--json``): per case
and target the median time, the throughput that binds it (GB/s or GFLOP/s, whichever is the
larger share of the device's peak, the best calibration on that device) with that share, and the ratios of MLX's times to
the other targets'. The header names the machine, the peaks and how they were measured.

    write(benchfile.load(Path("bench.json")), Path("benchmarks/cpu-matrix.md"))
"""

from __future__ import annotations

import json
from pathlib import Path

from .benchfile import MIN_PROCESSES
from .report import unstated


def write(doc: dict, path: Path) -> None:
    """Write :func:`markdown` of ``doc`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(doc), encoding="utf-8")


def markdown(doc: dict) -> str:
    """The whole page: header (with the command that made ``doc``), peaks, environment, matrix,
    untimed cells."""
    command = doc.get("command")
    targets = _targets(doc)
    subject = next((t for t in targets if t.startswith("mlx:")), targets[0] if targets else None)
    lines = [f"# Bench matrix: {', '.join(targets)}", ""]
    lines += [f"Produced by `{command}`." if command else "", f"Created {doc.get('created')} on "
              f"{doc.get('host', {}).get('cpu', '?')} ({doc.get('host', {}).get('platform', '?')}).", ""]
    lines += _peaks(doc, targets) + _environment(doc) + _matrix(doc, targets, subject) + _untimed(doc)
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def _targets(doc: dict) -> list[str]:
    seen: list[str] = []
    for record in doc.get("results", []):
        if record["target"] not in seen:
            seen.append(record["target"])
    return seen


def _peaks(doc: dict, targets: list[str]) -> list[str]:
    peaks = doc.get("peaks") or {}
    if not peaks:
        return ["No peaks were measured (run with `--calibrate`): % of peak is blank.", ""]
    lines = ["## Measured peaks", "", "| target | bandwidth GB/s | float32 GFLOP/s | how |", "|---|---:|---:|---|"]
    for name in targets:
        peak = peaks.get(name)
        if peak:
            lines.append(f"| {name} | {_num(peak.get('bandwidth_gbps'))} | {_num(peak.get('flops_gflops'))} "
                         f"| {peak.get('method') or peak.get('error', '')} |")
    devices = {json.dumps(d, sort_keys=True): d for d in (doc.get("device_peaks") or {}).values()}
    for d in devices.values():
        lines.append(f"| **device peak** | {_num(d.get('bandwidth_gbps'))} ({d.get('bandwidth_from')}) "
                     f"| {_num(d.get('flops_gflops'))} ({d.get('flops_from')}) | the best of the above on this "
                     "device: % of peak below is against it |")
    return lines + [""]


def _environment(doc: dict) -> list[str]:
    env = doc.get("environment") or {}
    if not env:
        return []
    lines = ["## Environment", ""]
    for name, record in env.items():
        framework = record.get("framework") or {"reason": record.get("error", "not read")}
        lines.append(f"- **{name}**: {_framework_line(framework)}")
    cpu = next(iter(env.values())).get("cpu", {})
    lines += [f"- CPU: {cpu.get('model')}, {cpu.get('logical_cpus')} logical CPUs "
              f"({cpu.get('usable_cpus')} usable)", ""]
    return lines


def _framework_line(info: dict) -> str:
    if "reason" in info and "version" not in info:
        return f"unknown ({info['reason']})"
    parts = [f"version {info.get('version')}"]
    for pool in info.get("threadpools") or []:
        parts.append(f"{pool.get('internal_api')} {pool.get('version')} ({pool.get('architecture')}), "
                     f"{pool.get('num_threads')} threads")
    kinds = sorted({f"{Path(lib['path']).name}: {lib['kind']}" for lib in info.get("blas_libraries") or [] if lib.get("kind")})
    parts += kinds
    if "num_threads" in info:
        parts.append(f"{info['num_threads']} threads")
    if "config" in info:
        parts.append(next((l.strip(" -") for l in info["config"].splitlines() if "BLAS_INFO" in l or "Math Kernel" in l), ""))
    if "cache_limit_bytes" in info:
        parts.append(f"cache limit {info['cache_limit_bytes'] / 2**20:.0f} MiB")
    return "; ".join(p for p in parts if p)


def _matrix(doc: dict, targets: list[str], subject: str | None) -> list[str]:
    others = [t for t in targets if t != subject]
    head = ["case"] + [f"{t} median" for t in targets] + [f"{t} throughput (% peak)" for t in targets]
    head += [f"{subject} vs {t}" for t in others]
    lines = ["## Matrix", "", f"Throughput is the binding one: GFLOP/s when that is the larger share of the "
             f"measured peak, else GB/s. `{subject} vs X` is how many times faster {subject} is (below 1: "
             "slower); `≈` where the two are not significantly different (Mann-Whitney, p < "
             f"{doc.get('timing', {}).get('significance', {}).get('alpha', '?')}, and outside "
             f"±{100 * doc.get('timing', {}).get('significance', {}).get('margin', 0):.0f}%); `?` where "
             f"there are too few processes (fewer than {MIN_PROCESSES} per target) or samples to tell.", "",
             "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    rows: dict[str, dict[str, dict]] = {}
    for record in doc.get("results", []):
        rows.setdefault(record["case"], {})[record["target"]] = record
    for case, by_target in rows.items():
        cells = [f"`{case}`"] + [_time(by_target.get(t)) for t in targets] + [_rate(by_target.get(t)) for t in targets]
        mine = by_target.get(subject) or {}
        cells += [_ratio(mine, by_target.get(t)) for t in others]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _time(record: dict | None) -> str:
    if not record:
        return ""
    if not record.get("median_s"):
        return record.get("status", "untimed")
    noisy = " ~" if record.get("noise") not in (None, "ok") else ""
    return f"{_seconds(record['median_s'])}{noisy}"


def binding(record: dict) -> tuple[str, float | None, float | None]:
    """("GFLOP/s" or "GB/s", rate, % of peak): the resource the case uses the larger share of."""
    flops = ("GFLOP/s", record.get("gflops"), record.get("pct_peak_flops"))
    moved = ("GB/s", record.get("gbps"), record.get("pct_peak_bw"))
    if flops[1] is None:
        return moved
    if moved[1] is None or (flops[2] or 0) >= (moved[2] or 0):
        return flops
    return moved


def _rate(record: dict | None) -> str:
    if not record or not record.get("median_s"):
        return ""
    unit, rate, pct = binding(record)
    if rate is None:
        return ""
    return f"{_num(rate)} {unit}" + (f" ({pct:.0f}%)" if pct is not None else "")


def _ratio(mine: dict, other: dict | None) -> str:
    if not other or not mine.get("median_s") or not other.get("median_s"):
        return ""
    ratio = (mine.get("speedup") or {}).get(other["target"])
    return unstated(mine, other) if ratio is None else f"{ratio:.2f}×"


def _untimed(doc: dict) -> list[str]:
    bad = [r for r in doc.get("results", []) if not r.get("median_s")]
    if not bad:
        return []
    lines = ["## Cells not timed", "", "A cell is timed only when its output matched the golden before and "
             "after timing.", "", "| case | target | status | why |", "|---|---|---|---|"]
    for record in bad:
        why = (record.get("message") or "").replace("|", "\\|")
        lines.append(f"| `{record['case']}` | {record['target']} | {record.get('status')} | "
                     f"{why[:160] + ('...' if len(why) > 160 else '')} |")
    return lines + [""]


def _seconds(s: float) -> str:
    return f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} µs"


def _num(x) -> str:
    if x is None:
        return ""
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"
