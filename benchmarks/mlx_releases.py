"""The full check on every MLX release with a Linux CPU wheel, and the page that compares them:
docs/results/mlx-releases.md.

    python benchmarks/mlx_releases.py                      # venvs where missing, a check per release, the page
    python benchmarks/mlx_releases.py --render             # the page again from the results files alone
    python benchmarks/mlx_releases.py --releases 0.30.6    # check one release again, then the whole page

Each release gets its own venv, VENVS/mlx-V (default build/mlx-venvs), made where missing with
``python -m venv`` and ``pip install "mlx[cpu]==V" -e .``. Whatever mlxport a venv has installed,
the check runs this checkout's (PYTHONPATH), so a venv made for another checkout serves too. The
releases run one after another: on a small machine two checks at once would time out each
other's cells. Each writes RESULTS/r-V.json (default build/mlx-releases), its output beside it,
and its wall time to RESULTS/times.json.

The page is made from those files and this checkout's case data: what each release lacks and
each failure's cause are the skip and divergence records (``mlx:`` names the releases they hold
for), and fixes and regressions come from ``merge.changes``, what ``mlxport diff`` prints.
Failures examined that are not MLX's (so no case record explains them) and the page's notes are
in benchmarks/mlx_releases.yaml.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's mlxport, whatever the interpreter has installed

from mlxport import merge, versions  # noqa: E402
from mlxport.catalog import glob  # noqa: E402
from mlxport.check import Selection, select_cases  # noqa: E402
from mlxport.model import Status  # noqa: E402
from mlxport.report import cell_text  # noqa: E402

RELEASES = ("0.26.5", "0.27.1", "0.28.0", "0.29.0", "0.30.6", "0.31.2", "0.32.4")
TARGET = "mlx:cpu"
STATUSES = ("pass", "mismatch", "unsupported", "error", "crash", "timeout", "skip")
SKIP_KINDS = ("op", "keyword", "dtype", "named", "design")  # the columns of the skip breakdown
PAGE = ROOT / "docs" / "results" / "mlx-releases.md"
DATA = ROOT / "benchmarks" / "mlx_releases.yaml"


def venv(release: str, folder: Path) -> Path:
    """The python of the release's venv, made first where missing."""
    python = folder / f"mlx-{release}" / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"mlx[cpu]=={release}", "-e", str(ROOT)],
                       check=True)
    return python


def check(release: str, python: Path, results: Path) -> dict:
    """The full check of one release on mlx:cpu: its results file, output and wall time."""
    start = time.monotonic()
    with open(results / f"o-{release}.txt", "w") as out, open(results / f"e-{release}.txt", "w") as err:
        proc = subprocess.run([str(python), "-m", "mlxport", "check", "--target", TARGET,
                               "--json", str(results / f"r-{release}.json")], cwd=ROOT, stdout=out, stderr=err,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = round(time.monotonic() - start, 1)
    tracebacks = (results / f"e-{release}.txt").read_text(errors="replace").count("Traceback")
    return {"seconds": seconds, "exit": proc.returncode, "tracebacks": tracebacks,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def run_all(releases: list[str], venvs: Path, results: Path) -> None:
    """Check each release in turn, recording its time in results/times.json."""
    results.mkdir(parents=True, exist_ok=True)
    times_path = results / "times.json"
    times = json.loads(times_path.read_text()) if times_path.exists() else {}
    for release in releases:
        print(f"MLX {release}: ", end="", flush=True)
        times[release] = check(release, venv(release, venvs), results)
        times_path.write_text(json.dumps(times, indent=1) + "\n")
        print(f"{times[release]['seconds']:.0f} s, exit {times[release]['exit']}", flush=True)


# The page ---------------------------------------------------------------------------------------

def records() -> tuple[dict[str, str | None], list[tuple]]:
    """The skip reasons of the catalog (reason -> its ``mlx:`` specifier), and every record that
    names MLX releases: (op, kind, mlx, cases, reason, number of cases it covers)."""
    reasons: dict[str, str | None] = {}
    named: Counter = Counter()
    for case in select_cases(Selection()):
        for kind, rules in (("skip", case.skips), ("divergence", case.divergences)):
            for rule in rules:
                if kind == "skip":
                    reasons.setdefault(rule.reason, rule.mlx)
                if rule.mlx and glob(rule.target, TARGET) and glob(rule.cases, case.id):
                    named[(case.op, kind, rule.mlx, rule.cases, rule.reason)] += 1
    return reasons, [(*key, n) for key, n in named.items()]


def skip_kind(message: str, reasons: dict[str, str | None]) -> str:
    """What a skip says of its release: it lacks the op, a keyword or a dtype; a record names the
    release (a value or mode it lacked, a fault of it); or nothing (by design)."""
    if message in reasons:
        return "named" if reasons[message] else "design"
    if message.startswith("not in MLX "):
        return "op"
    if re.match(r"MLX \S+'s \S+ has no \w+=", message):
        return "keyword"
    return "dtype" if re.match(r"MLX \S+ has no ", message) else "design"


class Causes:
    """Why a cell failed: its recorded reason, else a cause of the data file that covers it."""

    def __init__(self, entries: list[dict]):
        self.entries = entries

    def __call__(self, cell: dict, release: str) -> str | None:
        if cell.get("known"):
            return cell["known"]
        return next((e["cause"] for e in self.entries if cell["status"] in e["status"]
                     and glob(e["cases"], cell["case"]) and versions.holds(release, e["mlx"])), None)


def cells(doc: dict) -> dict[str, dict]:
    return {r["case"]: r for r in doc["results"] if r["target"] == TARGET}


def md(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def coverage_table(docs: dict[str, dict], times: dict, reasons: dict) -> list[str]:
    head = ("| MLX | cells | " + " | ".join(STATUSES) + " | skip: " + " / ".join(SKIP_KINDS)
            + " | coverage | check took |")
    lines = [head, "|" + "---|" * (len(STATUSES) + 5)]
    for release, doc in docs.items():
        summary = doc["summary"][TARGET]
        kinds = Counter(skip_kind(r["message"], reasons) for r in cells(doc).values() if r["status"] == "skip")
        took = times.get(release, {}).get("seconds")
        lines.append(f"| {release} | {summary['cells']} | " + " | ".join(str(summary[s]) for s in STATUSES)
                     + " | " + " / ".join(str(kinds[k]) for k in SKIP_KINDS)
                     + f" | {100 * summary['coverage']:.1f}% | {f'{took / 60:.1f} min' if took else '?'} |")
    return lines


def spans(per: dict[str, int], releases: list[str]) -> str:
    """Cells per release, neighbouring releases with the same count as one span:
    ``0.26.5–0.31.2: 2, 0.32.4: 1``."""
    runs: list[list] = []
    for release in releases:
        n = per.get(release)
        if n and runs and runs[-1][2] == n and releases.index(runs[-1][1]) == releases.index(release) - 1:
            runs[-1][1] = release
        elif n:
            runs.append([release, release, n])
    return ", ".join(f"{a}{'–' + b if b != a else ''}: {n}" for a, b, n in runs)


def failures(by_case: dict[str, dict], statuses: tuple[str, ...], why: Causes) -> list[str]:
    """Every cell of these statuses, grouped by status and cause, with its ops and releases."""
    groups: dict[tuple, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for release, found in by_case.items():
        for r in found.values():
            if r["status"] in statuses:
                cause = why(r, release) or re.sub(r"MLX \d+\.\d+\.\d+", "MLX X", r["message"] or "")
                groups[(r["status"], cause)][r["op"]][release] += 1
    releases, several = list(by_case), len(statuses) > 1
    lines = ["| " + "status | " * several + "cells: op, releases | cause |", "|---|---|" + "---|" * several]
    for (status, cause), ops in sorted(groups.items(), key=lambda g: (g[0][0], sorted(g[1]))):
        where = "; ".join(f"`{op}` {spans(per, releases)}" for op, per in sorted(ops.items()))
        lines.append("| " + f"{status} | " * several + f"{where} | {md(cause)} |")
    return lines


def per_op(docs: dict[str, dict]) -> list[str]:
    """The ops whose status counts differ between releases: the counts of the first release,
    then the counts of each release where they changed (= unchanged)."""
    counts = {v: defaultdict(Counter) for v in docs}
    for release, doc in docs.items():
        for r in cells(doc).values():
            counts[release][r["op"]][Status(r["status"])] += 1
    releases = list(docs)
    lines = ["| op | " + " | ".join(releases) + " |", "|---|" + "---|" * len(releases)]
    for op in sorted({op for c in counts.values() for op in c}):
        row = [counts[v][op] for v in releases]
        if all(r == row[0] for r in row):
            continue
        shown = [cell_text(row[0]).plain] + ["=" if b == a else cell_text(b).plain for a, b in zip(row, row[1:])]
        lines.append(f"| `{op}` | " + " | ".join(shown) + " |")
    return lines


def neighbours(old: str, new: str, docs: dict[str, dict], by_case: dict[str, dict], why: Causes) -> list[str]:
    """Fixes, regressions and other changes from one release to the next, grouped by op,
    statuses and cause, with the cells in a folded list."""
    found = merge.changes(docs[old], docs[new])
    kinds = Counter(c["kind"] for c in found)
    lines = [f"### {old} → {new}", "",
             ", ".join(f"{kinds[k]} {k}" for k in merge.KINDS) + f" (`mlxport diff r-{old}.json r-{new}.json`).", ""]
    titles = {"regression": "Regressions (passed in {old}, fail in {new}), with the cause recorded for {new}",
              "fix": "Fixes (failed in {old}, pass in {new}), with the cause recorded for {old}",
              "change": "One failure for another, with the cause recorded for {new}",
              "dropped": "Skipped in {new}, not in {old}"}
    for kind, title in titles.items():
        groups: dict[tuple, list[str]] = defaultdict(list)
        for c in (c for c in found if c["kind"] == kind):
            side = new if c["new"] not in merge.PASSING else old
            failing = by_case[side][c["case"]]
            groups[(c["op"], c["old"], c["new"], why(failing, side))].append((c["case"], failing.get("message")))
        if groups:
            lines += [f"**{title.format(old=old, new=new)}**", ""]
        for (op, was, now, known), found_cells in sorted(groups.items(), key=lambda g: g[0][:3]):
            # unsupported and skip carry their cause in the message: MLX's words, the case data's reason
            plain = now == "skip" or (now in merge.PASSING and was == "unsupported") or now == "unsupported"
            text = md(known) if known else ("" if plain else "no recorded cause; first: ") + md(found_cells[0][1])
            lines.append(f"- `{op}` {was} → {now} ×{len(found_cells)}: {text}")
            lines.append("  <details><summary>cells</summary> " + ", ".join(f"`{i}`" for i, _ in found_cells)
                         + "</details>")
        lines += [""] if groups else []
    added = Counter(c["op"] for c in found if c["kind"] == "added")
    if added:
        lines += [f"**New in {new}** (skipped in {old}: an op, keyword, dtype or value it lacked): "
                  + ", ".join(f"`{op}` {n}" for op, n in sorted(added.items())), ""]
    return lines


def named_records(named: list[tuple]) -> list[str]:
    """The records that name releases, one row per reason: its releases, kind and cases."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for op, kind, spec, pattern, reason, n in sorted(named):
        groups[(spec, kind, reason)].append(f"`{md(pattern)}` ({n})")
    lines = ["| MLX | record | cases (cells) | reason |", "|---|---|---|---|"]
    for (spec, kind, reason), patterns in sorted(groups.items(), key=lambda g: (g[1][0], g[0][0])):
        lines.append(f"| `{spec}` | {kind} | {', '.join(dict.fromkeys(patterns))} | {md(reason)} |")
    return lines


def render(docs: dict[str, dict], times: dict) -> str:
    """The whole page."""
    reasons, named = records()
    data = yaml.safe_load(DATA.read_text())
    why = Causes(data["causes"])
    by_case = {v: cells(doc) for v, doc in docs.items()}
    first = next(iter(docs.values()))
    host = first["host"]
    total = sum(times.get(v, {}).get("seconds", 0) for v in docs)
    exits = ", ".join(f"{v}: exit {t['exit']}, {t['tracebacks']} tracebacks" for v, t in times.items() if v in docs)
    releases = list(docs)
    lines = [f"# MLX releases on {TARGET}: the catalog from {releases[0]} to {releases[-1]}", "",
             f"Made by `python benchmarks/mlx_releases.py` (a venv per release, the full `mlxport check --target "
             f"{TARGET}` in each, then this page from the results files and the case data). On "
             f"{host.get('cpu')} ({host.get('cores')} cores), Python {host.get('python')}: the {len(docs)} checks "
             f"took {total / 60:.0f} minutes, one after another ({exits}).", "",
             "Skips say what a release lacks, or what names it: `op` (not in that MLX), `keyword` (its function has no such "
             "argument), `dtype` (that MLX has no such dtype), `named` (a skip record whose `mlx:` names the "
             "releases: a parameter value or mode they did not take yet, or, from 0.32, the sums of empty arrays "
             "that come out different from run to run), `design` (not applicable in any release). "
             "Coverage is pass ÷ (cells − skip).", "", "## Coverage per release", ""]
    lines += coverage_table(docs, times, reasons)
    lines += ["", "## Porting debt per release (unsupported)", ""] + failures(by_case, ("unsupported",), why)
    lines += ["", "## Errors, crashes and timeouts per release, with their cause", ""]
    lines += failures(by_case, ("error", "crash", "timeout"), why)
    lines += ["", "## Per op: the releases where its status changed", "",
              "Status counts (✓ pass, ✗ mismatch, ○ unsupported, ! error, ☠ crash, ⧗ timeout, – skip) of each op "
              f"whose counts differ between releases; `=` where they are those of the release before.", ""]
    lines += per_op(docs)
    lines += ["", "## From one release to the next", "",
              "Cell ids are the same in every release, so `mlxport diff` pairs them. A fix passes now and "
              "failed before, a regression the other way; each comes with the recorded cause of its failing "
              "side (a divergence record written for that release), or its message where none is recorded.", ""]
    for old, new in zip(releases, releases[1:]):
        lines += neighbours(old, new, docs, by_case, why)
    lines += ["## Records that hold for some releases only", "",
              "The skip and divergence records of the case data with an `mlx:` specifier: what a release "
              "lacked, and what it got wrong, with the cause from MLX's source or changelog.", ""]
    lines += named_records(named)
    lines += ["", data["notes"].strip()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", default=",".join(RELEASES), help="comma-separated MLX versions to check")
    parser.add_argument("--venvs", type=Path, default=ROOT / "build" / "mlx-venvs", help="a venv per release here")
    parser.add_argument("--results", type=Path, default=ROOT / "build" / "mlx-releases", help="results files here")
    parser.add_argument("--render", action="store_true", help="only make the page from the results files")
    parser.add_argument("--page", type=Path, default=PAGE, help="write the page here")
    args = parser.parse_args()
    if not args.render:
        run_all([v.strip() for v in args.releases.split(",")], args.venvs, args.results)
    found = sorted((p for p in args.results.glob("r-*.json")), key=lambda p: versions.release(p.stem[2:]))
    docs = {p.stem[2:]: json.loads(p.read_text()) for p in found}
    times_path = args.results / "times.json"
    times = json.loads(times_path.read_text()) if times_path.exists() else {}
    args.page.write_text(render(docs, times), encoding="utf-8")
    print(f"wrote {args.page}")


if __name__ == "__main__":
    main()
