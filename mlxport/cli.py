"""The command line: parse flags, build a Selection, call the library, render."""

from __future__ import annotations

import functools
import inspect
import json
import shlex
import sys
from pathlib import Path
from typing import Callable, List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import __version__, gates, report, results
from .check import DEFAULT_TIMEOUT, Interrupted, Run, RunOptions, Selection, execute_selection, select_cases
from .model import InputError
from .schema import DTYPE_GROUPS

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Does each MLX op run on this device, and is it right?")
out = Console()
err = Console(stderr=True)

TargetOpt = typer.Option([], "--target", help="framework:device, e.g. mlx:cpu; repeatable")
JunitOpt = typer.Option(None, "--junit", help="write JUnit XML, a testcase per cell")
MarkdownOpt = typer.Option(None, "--markdown", help="write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
SvgOpt = typer.Option(None, "--svg", help="write the matrix as an SVG picture")
HtmlOpt = typer.Option(None, "--html", help="write the matrix as HTML")
MinCoverageOpt = typer.Option([], "--min-coverage", help="PCT or TARGET=PCT; repeatable")
BaselineOpt = typer.Option(None, "--baseline", help="fail on cells that passed in this results file")
XfailsOpt = typer.Option(None, "--xfails", help="expected failures: TARGET CASE # reason")
StrictXfailOpt = typer.Option(False, "--strict-xfail", help="an xpass fails the gate")
OpsOpt = typer.Option([], "--ops", help="shell glob on op names or case ids; repeatable")
ByOpt = typer.Option("op", "--by", help="rows of the matrix: op, or primitive (the MLX primitives of each cell's graph)")
DtypesOpt = typer.Option(None, "--dtypes", help=f"comma-separated dtypes or groups ({', '.join(DTYPE_GROUPS)}), "
                         "as in case files, e.g. float16,bfloat16")


def _print_version(asked: bool) -> None:
    if asked:
        out.print(f"mlxport {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _options(ctx: typer.Context, version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="print the version and exit")) -> None:
    """The options of mlxport itself; a bare ``mlxport`` prints the help and exits 0 (click's
    no_args_is_help raises a usage error, exit 2)."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


@app.command()
def devices(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Every known target: available, or unavailable with the reason."""
    from .backends import discover

    infos = [t.probe() for t in discover()]
    if as_json:
        print(json.dumps([i.to_json() for i in infos], indent=1))
    else:
        out.print(report.devices_table(infos))


@app.command("list")
def list_ops(ops: List[str] = OpsOpt, as_json: bool = typer.Option(False, "--json", help="print JSON"),
             cases_dirs: List[Path] = typer.Option([], "--cases", help="extra case folder"),
             uncovered: bool = typer.Option(False, "--uncovered", help="MLX functions with no case and no "
                                                                       "not-applicable entry"),
             primitives: bool = typer.Option(False, "--primitives", help="the primitive classes of the installed "
                                             "MLX, the names they take in a graph, why no case reaches some")) -> None:
    """The catalog: op, category, dtypes, number of cases."""
    from . import listing

    if primitives:
        return listing.primitive_classes(out, cases_dirs, as_json)
    cases = select_cases(Selection(ops=tuple(ops), case_dirs=tuple(cases_dirs)))
    if uncovered:
        return listing.uncovered(out, {c.op for c in cases}, cases_dirs, as_json)
    listing.catalog(out, cases, as_json)


@app.command()
def check(
    target: List[str] = TargetOpt,
    ops: List[str] = OpsOpt,
    dtypes: Optional[str] = DtypesOpt,
    cases_dirs: List[Path] = typer.Option([], "--cases", help="extra case folder; repeatable"),
    timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", min=0.1, help="seconds a cell may run"),
    jobs: int = typer.Option(1, "--jobs", min=1, help="worker processes for CPU targets"),
    shard: Optional[str] = typer.Option(None, "--shard", help="K/N: run the K-th of N parts"),
    json_path: Optional[Path] = typer.Option(None, "--json", help="write the results file here"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="finish the interrupted run of this results file"),
    min_coverage: List[str] = MinCoverageOpt, baseline: Optional[Path] = BaselineOpt,
    xfails: Optional[Path] = XfailsOpt, strict_xfail: bool = StrictXfailOpt,
    write_xfails: Optional[Path] = typer.Option(None, "--write-xfails", help="draft an xfails file from this run"),
    junit: Optional[Path] = JunitOpt, markdown: Optional[Path] = MarkdownOpt,
    svg: Optional[Path] = SvgOpt, html: Optional[Path] = HtmlOpt,
    save_failures: Optional[Path] = typer.Option(
        None, "--save-failures", help="write an .npz per failing cell: inputs, golden, actual"),
    probe_dtypes: bool = typer.Option(False, "--probe-dtypes", help="also run each op in all 14 dtypes "
                                      "and report false dtype declarations"),
    strict_dtypes: bool = typer.Option(False, "--strict-dtypes", help="a false dtype declaration fails the gate"),
    by: str = ByOpt,
) -> None:
    """Run the catalog on every available target and print the op x target matrix."""
    _rows(by)
    selection = Selection(tuple(target), tuple(ops), _words(dtypes), tuple(cases_dirs), shard)
    if resume and (selection != Selection() or json_path):
        raise InputError("--resume: takes the selection and results file of the interrupted run; "
                         "give no --target, --ops, --dtypes, --cases, --shard or --json with it")
    asked = gates.read_inputs(min_coverage, baseline, xfails, _known_targets())  # before the run: a bad one costs nothing
    options = RunOptions(jobs, timeout, json_path, resume, asked.xfails, save_failures)
    run = _run(lambda advance: execute_selection(selection, options, advance))
    if not run.cells:  # only a shard can be empty: an empty selection is an input error
        out.print(f"shard {run.selection.shard} is empty: the selection has fewer cases than shards; "
                  "nothing to run or gate" + (f"; results: {run.written}" if run.written else ""), highlight=False)
        return
    report.print_check(out, run.cells, run.infos, by)
    if by == "primitive":
        for line in report.unreached_lines(run.doc.get("unreached_primitives", {})):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    if run.written:
        out.print(f"results: {run.written}")
    if save_failures:
        out.print(f"saved {run.saved} failing cell{'' if run.saved == 1 else 's'} to {save_failures}",
                  markup=False, highlight=False)
    if write_xfails:
        count, placeholders = gates.write_xfails(write_xfails, run.cells)
        out.print(f"drafted {count} expected failures in {write_xfails}, {count - placeholders} with the catalog's "
                  f"reason" + (f": write a reason on the {placeholders} placeholder lines" if placeholders else ""),
                  markup=False, highlight=False)
    verdict = gates.judge(run.cells, asked, list(run.stale), strict_xfail)
    doc = run.doc
    if probe_dtypes:
        doc, verdict = _probe(selection, jobs, timeout, run, verdict, strict_dtypes)
    _finish(doc, verdict, asked.any or (probe_dtypes and strict_dtypes), (junit, markdown, svg, html), strict_xfail,
            by)


def _probe(selection: Selection, jobs: int, timeout: float, run, verdict: gates.Verdict, strict: bool):
    """Run the dtype probe, print its findings, add them to the results file and the gate."""
    from . import probe
    from .check import select_targets

    found = probe.run(selection, select_targets(selection)[0], jobs, timeout)
    for finding in found.findings:
        out.print(finding.line(), markup=False, highlight=False, soft_wrap=True)
    out.print(f"dtype probe: {found.cells} cells, {len(found.findings)} false declarations, "
              f"{len(found.untried)} op/dtype pairs untried (no inputs or golden in that dtype)", highlight=False)
    doc = {**run.doc, "dtype_probe": found.to_json()}
    if run.written:
        results.write(run.written, doc)
    if strict:
        line = f"{'FAIL' if found.findings else 'ok'}: dtype declarations ({len(found.findings)} false)"
        verdict = verdict.add(line, bool(found.findings))
    return doc, verdict


@app.command()
def bench(
    ctx: typer.Context, target: List[str] = TargetOpt, ops: List[str] = OpsOpt,
    dtypes: Optional[str] = DtypesOpt,
    cases_dirs: List[Path] = typer.Option([], "--cases", help="extra bench case folder; repeatable"),
    json_path: Optional[Path] = typer.Option(None, "--json", help="write the bench file here"),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="mark cells slower than in this bench file"),
    max_slowdown: float = typer.Option(1.25, "--max-slowdown", min=1.0, help="fail when a cell is this many times slower"),
    strict_bench: bool = typer.Option(False, "--strict-bench", help="with --baseline: a cell whose times cannot "
                                      "tell (too few processes or samples) fails the gate"),
    processes: int = typer.Option(2, "--processes", min=1, help="worker processes per target, interleaved"),
    warmup: float = typer.Option(0.2, "--warmup", min=0.0, help="seconds of warmup per cell"),
    min_time: float = typer.Option(0.5, "--min-time", min=0.0, help="least seconds of sampling per cell"),
    max_time: float = typer.Option(3.0, "--max-time", min=0.01, help="most seconds of sampling per cell"),
    min_samples: int = typer.Option(10, "--min-samples", min=1, help="least timed calls per cell and process"),
    spread: float = typer.Option(0.02, "--spread", min=0.0, help="stop when the median is known to +-this"),
    calibrate: bool = typer.Option(False, "--calibrate", help="measure each target's peak GB/s and GFLOP/s first"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write a roofline PNG here (needs matplotlib)"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="write the matrix as Markdown here"),
    timeout: float = typer.Option(300.0, "--timeout", min=0.1, help="seconds a cell may run in its worker"),
) -> None:
    """Time each bench case on every available target: a matrix of median times per call."""
    from .bench import benchfile, gate, matrix, roofline, run
    from .bench.report import print_bench
    from .journal import discard, scratch

    if strict_bench and not baseline:
        raise InputError("--strict-bench: judges a comparison with --baseline BENCH.json, and none was given")
    old = gate.read_baseline(baseline)  # before the run: a bad one costs nothing
    budget = run.Budget(warmup, min_time, max_time, min_samples, spread)
    selection = Selection(tuple(target), tuple(ops), _words(dtypes), tuple(cases_dirs))
    chosen = run.plan(selection)  # input errors before the progress bar
    keep = json_path or scratch("bench")  # the finished cells, rewritten as each one finishes
    with _progress() as progress:
        task = progress.add_task("timing", total=None)
        try:
            doc = run.execute(chosen, run.BenchOptions(budget, processes, timeout, calibrate=calibrate),
                              lambda t: progress.update(task, advance=1, description=t.case[:48]), keep)
        except run.Interrupted as exc:
            progress.stop()
            err.print(f"[yellow]{escape(str(exc))}[/yellow]", highlight=False, soft_wrap=True)
            raise typer.Exit(130)
    if not json_path:
        discard(keep)
    doc, found = gate.compare(doc, old, max_slowdown, strict_bench) if old else (doc, [])
    doc = {**doc, "command": _command(ctx)}
    print_bench(out, doc)
    if json_path:
        benchfile.write(json_path, doc)
        out.print(f"bench file: {json_path}", markup=False, highlight=False)
    for path, write in ((plot, roofline.write), (markdown, matrix.write)):
        if path:
            write(doc, path)
            out.print(f"wrote {path}", markup=False, highlight=False)
    for item in found:
        out.print(item.line(), markup=False, highlight=False, soft_wrap=True)
    if any(item.fails for item in found):
        raise typer.Exit(1)


@app.command("merge")
def merge_files(
    files: List[Path] = typer.Argument(..., help="results files, from several machines or shards"),
    json_path: Optional[Path] = typer.Option(None, "--json", help="write the merged results file here"),
    min_coverage: List[str] = MinCoverageOpt, baseline: Optional[Path] = BaselineOpt,
    xfails: Optional[Path] = XfailsOpt, strict_xfail: bool = StrictXfailOpt,
    junit: Optional[Path] = JunitOpt, markdown: Optional[Path] = MarkdownOpt,
    svg: Optional[Path] = SvgOpt, html: Optional[Path] = HtmlOpt,
    by_host: bool = typer.Option(False, "--by-host", help="one column per target and host, not per kind of device"),
    by: str = ByOpt,
) -> None:
    """Merge results files into one matrix: one column per target and kind of device."""
    from . import exports, merge

    _rows(by)
    docs = [results.load(f) for f in files]
    known = _known_targets() | {r["target"].partition("@")[0] for d in docs for r in d["results"]}
    asked = gates.read_inputs(min_coverage, baseline, xfails, known)
    doc = merge.merge(docs, by_host)
    cells, infos = exports.cells_and_infos(doc)
    cells, stale = gates.apply_xfails(cells, list(asked.xfails))
    doc = {**doc, "results": [c.to_json() for c in cells], "summary": results.summarize(cells)}
    report.print_check(out, cells, infos, by)
    if json_path:
        results.write(json_path, doc)
        out.print(f"merged results: {json_path}")
    verdict = gates.judge(cells, asked, stale, strict_xfail)
    _finish(doc, verdict, asked.any, (junit, markdown, svg, html), strict_xfail, by)


@app.command("diff")
def diff_files(old: Path = typer.Argument(..., help="the earlier results file"),
               new: Path = typer.Argument(..., help="the later results file"),
               per_op: bool = typer.Option(False, "--by-op", help="a line per op: its fixes, regressions, ..."),
               json_path: Optional[Path] = typer.Option(None, "--json", help="write the changes as JSON here")) -> None:
    """List the cells whose status changed between two results files: fixes, regressions, and
    what a release added or dropped (cell ids are the same across MLX releases)."""
    from . import merge

    before, after = results.load(old), results.load(new)
    for line in merge.diff(before, after, per_op):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    if json_path:
        json_path.write_text(json.dumps(merge.diff_document(before, after), indent=1) + "\n", encoding="utf-8")
        out.print(f"wrote {json_path}", markup=False, highlight=False)


# The options that trace and replay share (DESIGN.md, "Programs"): name -> (type, option).
PROGRAM_OPTIONS = {
    "target": (List[str], TargetOpt),
    "ops": (List[str], typer.Option([], "--ops", help="check only these calls: shell glob on op names or call "
                                    "ids; repeatable")),
    "save": (Optional[Path], typer.Option(None, "--save", help="write the trace here (mlxport.trace/1), to "
                                          "replay elsewhere")),
    "max_bytes": (Optional[int], typer.Option(None, "--max-bytes", min=0, help="of --save's file: past it, calls "
                                              "keep their signature and replay on generated inputs [default: 256 MiB]")),
    "timeout": (float, typer.Option(DEFAULT_TIMEOUT, "--timeout", min=0.1, help="seconds a cell may run")),
    "json_path": (Optional[Path], typer.Option(None, "--json", help="write the results file here")),
    "junit": (Optional[Path], JunitOpt), "markdown": (Optional[Path], MarkdownOpt),
    "min_coverage": (List[str], MinCoverageOpt), "baseline": (Optional[Path], BaselineOpt),
    "xfails": (Optional[Path], XfailsOpt), "strict_xfail": (bool, StrictXfailOpt), "by": (str, ByOpt),
}


def _program_options(command: Callable) -> Callable:
    """``command`` with the options of ``PROGRAM_OPTIONS`` after its own; it takes their values
    as one dict, ``options``."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "options"]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
              for name, (kind, option) in PROGRAM_OPTIONS.items()]

    @functools.wraps(command)
    def with_options(**values):
        return command(**{p.name: values.pop(p.name) for p in own}, options=values)

    with_options.__signature__ = inspect.Signature(own + shared)
    with_options.__annotations__ = {p.name: p.annotation for p in own + shared}
    return with_options


@app.command(context_settings={"allow_interspersed_args": False})
@_program_options
def trace(
    program: List[str] = typer.Argument(..., metavar="SCRIPT", help="the program and its arguments, "
                                        "as python takes them; every option of mlxport comes before SCRIPT"),
    module: bool = typer.Option(False, "-m", help="SCRIPT is a module, run as python -m MODULE ARGS..."),
    options: dict = None,
) -> None:
    """Run a program as python would, record every MLX call it makes, and check each distinct
    call on every target: the matrix of the program's own calls."""
    from .trace.record import record  # the recorder patches MLX: only when asked

    _check_trace(lambda: record((["-m"] if module else []) + list(program)), None, **options)


@app.command()
@_program_options
def replay(trace_file: Path = typer.Argument(..., metavar="TRACE", help="a trace that mlxport trace --save wrote"),
           options: dict = None) -> None:
    """Check a saved trace on this machine's targets: record where the program lives, replay
    where it must run."""
    from .trace import tracefile

    _check_trace(lambda: tracefile.load(trace_file), trace_file, **options)


def _check_trace(load: Callable, path: Optional[Path], target, ops, save, max_bytes, timeout, json_path, junit,
                 markdown, min_coverage, baseline, xfails, strict_xfail, by) -> None:
    """Read the gates' inputs, then ``load()`` the trace (run the program, or read a file);
    save it where asked (and check what was saved: what replay will see), check it, report as
    check does; then a program that failed is one line and exit 2, after the gates' verdict."""
    from .model import Origin
    from .trace import run as traced

    _rows(by)
    asked = gates.read_inputs(min_coverage, baseline, xfails, _known_targets())  # before the program runs
    recorded = load()
    if save:
        from .trace import tracefile

        tracefile.save(recorded, save, traced.DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
        recorded, path = tracefile.load(save), save
        out.print(f"trace: {save}", markup=False, highlight=False)
    origin = Origin("trace", str(path)) if path else Origin("trace", program=tuple(recorded.program))
    options = RunOptions(timeout=timeout, results=json_path, xfails=asked.xfails)
    run, cases = _run(lambda advance: traced.check_trace(recorded, origin, Selection(tuple(target), tuple(ops)),
                                                         options, advance))
    report.print_check(out, run.cells, run.infos, by, title="mlxport trace")
    for line in traced.summary_lines(recorded, cases, run.cells):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    if run.written:
        out.print(f"results: {run.written}")
    try:
        _finish(run.doc, gates.judge(run.cells, asked, list(run.stale), strict_xfail), asked.any,
                (junit, markdown, None, None), strict_xfail, by)
    finally:  # exit 2, not a gate's 1: the program itself failed
        if recorded.exit is not None:
            raise InputError(f"{shlex.join(recorded.program)}: {recorded.exit}; the calls it made until then "
                             "are checked above")


def _finish(doc: dict, verdict: gates.Verdict, gated: bool, paths: tuple, strict_xfail: bool, by: str = "op") -> None:
    """Write the asked-for reports, print the gates' verdict; a failed gate exits 1."""
    from . import exports

    verdict = verdict if gated else gates.Verdict(())
    lines = verdict.lines
    writers = (lambda d: exports.junit(d, strict_xfail, verdict), lambda d: exports.markdown(d, lines, by), exports.svg,
               exports.html)
    for path, write in zip(paths, writers):
        if path:
            path.write_text(write(doc), encoding="utf-8")
            out.print(f"wrote {path}", markup=False, highlight=False)
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    if verdict.failed:
        raise typer.Exit(1)


def _rows(by: str) -> None:
    """``--by``: a usage error unless it names a kind of row the matrix has."""
    if by not in report.BY:
        raise InputError(f"--by {by}: expected one of {', '.join(report.BY)}")


def _known_targets() -> set[str]:
    """The names of the targets mlxport knows, available here or not."""
    from .backends import discover

    return {t.name for t in discover()}


def _run(work: Callable[[Callable], Run]) -> Run:
    """``work(on_result)`` (a run of cells) with a progress bar; Ctrl-C prints how to resume
    and exits 130."""
    with _progress() as progress:
        task = progress.add_task("checking", total=None)

        def advance(cell) -> None:
            progress.update(task, advance=1, description=cell.case[:48])

        try:
            return work(advance)
        except Interrupted as exc:
            progress.stop()
            err.print(f"[yellow]{escape(str(exc))}[/yellow]", highlight=False, soft_wrap=True)
            raise typer.Exit(130)


def _words(text: str | None) -> tuple[str, ...]:
    """A comma-separated flag's items, spaces around them dropped: ``"a, b"`` -> ("a", "b")."""
    return tuple(word.strip() for word in (text or "").split(",") if word.strip())


def _command(ctx: typer.Context) -> str:
    """The command line of a run, rebuilt from the flags that differ from their defaults."""
    parts = ctx.command_path.split()
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value in (None, False, (), []) or value == param.default:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            parts += [param.opts[0]] if item is True else [param.opts[0], str(item)]
    return shlex.join(parts)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<48}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=True)


def main(argv: list[str] | None = None) -> int:
    """The console script: input errors are one red line and exit status 2."""
    try:
        code = typer.main.get_command(app).main(args=argv, prog_name="mlxport", standalone_mode=False)
    except InputError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2
    except Exception as exc:
        if getattr(exc, "exit_code", None) == 2 and hasattr(exc, "format_message"):
            command = f"{exc.ctx.command_path}: " if getattr(exc, "ctx", None) else ""
            err.print(f"[red]error:[/red] {escape(command + exc.format_message())}", highlight=False,
                      soft_wrap=True)
            return 2
        raise
    return code if isinstance(code, int) else 0


def entry() -> None:
    """The ``mlxport`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
