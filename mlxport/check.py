"""The library behind ``mlxport check`` and ``mlxport list``: choose cases and targets, run."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import dtypes as dt
from . import failures, journal, primitives, results
from .api import NOT_APPLICABLE
from .backends import Target, discover
from .catalog import builtin_cases, glob, load_files
from .attribution import attribute
from .gates import apply_xfails
from .journal import journal_path
from .model import Case, CellResult, InputError, TargetInfo
from .pool import run_isolated
from .primitives import NAMES, UNREACHABLE
from .runner import prepare_environment
from .schema import DTYPE_GROUPS, expand_dtypes


@dataclass(frozen=True)
class Selection:
    """What a run covers, as the flags said it."""

    targets: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    case_dirs: tuple[Path, ...] = ()
    shard: str | None = None  # "K/N": the K-th of N equal, disjoint parts of the cases

    def to_json(self) -> dict:
        return {"targets": list(self.targets), "ops": list(self.ops), "dtypes": list(self.dtypes),
                "case_dirs": [str(d) for d in self.case_dirs], "shard": self.shard}

    @classmethod
    def from_json(cls, data: dict) -> "Selection":
        return cls(tuple(data["targets"]), tuple(data["ops"]), tuple(data["dtypes"]),
                   tuple(Path(d) for d in data["case_dirs"]), data.get("shard"))


def case_files(extra: tuple[Path, ...], base: Path | None = None) -> list[Path]:
    """Every case file: those of ``base`` (the built-in catalog by default), then those of each
    ``--cases`` folder; the not-applicable list and the dtype limits beside them are not cases."""
    files = sorted((base or builtin_cases()).glob("*.yaml"))
    for folder in extra:
        if not folder.is_dir():
            raise InputError(f"--cases {folder}: not a folder")
        files += sorted(folder.glob("*.yaml"))
    return [f for f in files if f.name not in (NOT_APPLICABLE, "dtype-limits.yaml", NAMES, UNREACHABLE)]


def select_cases(selection: Selection, files: list[Path] | None = None) -> list[Case]:
    """Validate every case file (``files``, else the catalog's), then apply ``--ops`` and
    ``--dtypes`` (names or groups, as in a case file)."""
    cases = load_files(case_files(selection.case_dirs) if files is None else files)
    try:
        dtypes = expand_dtypes(selection.dtypes)
    except KeyError as exc:
        raise InputError(f"--dtypes: unknown dtype {exc.args[0]!r}; known: {', '.join(dt.NAMES)}; "
                         f"groups: {', '.join(DTYPE_GROUPS)}") from None
    for pattern in selection.ops:
        if not any(op_matches(pattern, c) for c in cases):
            raise InputError(f"--ops {pattern}: matches no op or case id")
    chosen = [c for c in cases
              if (not selection.ops or any(op_matches(p, c) for p in selection.ops))
              and (not selection.dtypes or c.dtype in dtypes)]
    if not chosen:
        flags = [f"--ops {p}" for p in selection.ops] + [f"--dtypes {','.join(selection.dtypes)}"] * bool(selection.dtypes)
        raise InputError(f"{' '.join(flags) or 'the catalog'}: selects no case"
                         + (f" (its ops have none in {', '.join(dtypes)})" if selection.dtypes else ""))
    if selection.shard:
        k, n = parse_shard(selection.shard)
        chosen = chosen[k - 1::n]
    return chosen


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4): the second of four shards."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise InputError(f"--shard {text}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return int(match.group(1)), int(match.group(2))


def op_matches(pattern: str, case: Case) -> bool:
    return glob(pattern, case.op) or glob(pattern, case.id)


def select_targets(selection: Selection, reference: bool = False) -> tuple[list[Target], list[TargetInfo]]:
    """The targets to run (with no ``--target``: every available one, the numpy reference only
    when ``reference``), and the probes of the targets it considered (for the report): those
    named, else every known one. A probe imports its framework (torch alone takes 1.5 s), so
    ``--target mlx:cpu`` probes MLX only."""
    known = discover()
    names = [t.name for t in known]
    for name in selection.targets:
        if name not in names:
            raise InputError(f"--target {name}: unknown target; known: {', '.join(names)}")
    considered = [t for t in known if not selection.targets or t.name in selection.targets]
    infos = {t.name: t.probe() for t in considered}
    for name in selection.targets:
        if not infos[name].available:
            raise InputError(f"--target {name}: unavailable: {infos[name].reason}")
    chosen = [t for t in considered if infos[t.name].available and (selection.targets or reference or not t.is_reference)]
    if not chosen:
        raise InputError("no target is available besides the numpy reference; pip install 'mlxport[cpu]'")
    return chosen, [infos[t.name] for t in considered]


DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class RunOptions:
    """How a run goes, as opposed to what it covers."""

    jobs: int = 1
    timeout: float = DEFAULT_TIMEOUT
    results: Path | None = None  # --json
    resume: Path | None = None  # --resume
    xfails: tuple = ()  # gates.Xfail entries: their cells become xfail / xpass
    save_failures: Path | None = None  # --save-failures: an .npz per cell that ran and did not pass


@dataclass(frozen=True)
class Run:
    """A finished run: every cell in catalog order, the targets' probes, where it was written."""

    cells: list[CellResult]
    infos: list[TargetInfo]
    written: Path | None
    stale: tuple = ()  # xfail entries that matched no cell
    doc: dict = field(default_factory=dict)  # the results document, written or not
    selection: Selection = Selection()  # what it covered (a resumed run's, from its journal)
    saved: int = 0  # --save-failures: the files this run wrote


class Interrupted(Exception):
    """Ctrl-C: the finished cells are in the journal; ``resume`` finishes the run."""

    def __init__(self, resume: Path, kept: int, resumable: bool = True):
        how = f"resume with: mlxport check --resume {resume}" if resumable else f"in {journal_path(resume)}"
        super().__init__(f"interrupted: {kept} finished cells kept; {how}")
        self.resume, self.kept = resume, kept


def _journal_to_resume(path: Path) -> Path:
    """The journal of the run that ``--resume PATH`` finishes; a finished run (its results file
    written, its journal gone) has none, which is an input error that says so."""
    partial = journal_path(path)
    if path.exists() and not partial.exists():
        count = len(results.load(path, f"--resume {path}")["results"])
        raise InputError(f"--resume {path}: that run is finished, its {count} cells are in {path}; nothing "
                         f"to resume (mlxport merge {path} shows it again)")
    return partial


def execute_selection(selection: Selection, options: RunOptions, on_result=lambda result: None) -> Run:
    """``mlxport check``: choose the cases and targets of ``selection`` (a resumed run's, from its
    journal), then run them with :func:`execute`."""
    if options.resume:
        header, _ = journal.read(_journal_to_resume(options.resume))
        selection = Selection.from_json(header["selection"])
    cases = select_cases(selection)
    targets, infos = select_targets(selection)
    run = execute(cases, targets, infos, options, on_result, {"selection": selection.to_json()},
                  unreached=[builtin_cases(), *selection.case_dirs])
    return dataclasses.replace(run, selection=selection)


def execute(cases: list[Case], targets: list[Target], infos: list[TargetInfo], options: RunOptions,
            on_result=lambda result: None, header: dict | None = None, unreached: list[Path] | None = None,
            resumable: bool = True, fields: dict | None = None) -> Run:
    """Run (or, with ``options.resume``, finish) every cell of ``cases`` x ``targets`` in worker
    processes, journalling each as it finishes; ``header`` is the journal's (what a resume needs).
    With ``unreached`` (case folders), MLX's primitives that no cell reached go in the document;
    ``resumable``: whether ``mlxport check --resume`` can finish it (a check, not a trace);
    ``fields``: more fields of the results document (a trace's manifest)."""
    env = prepare_environment()
    path = options.resume or options.results or journal.scratch("run")  # scratch: this run's alone
    done: dict[tuple[str, str], CellResult] = {}
    if options.resume:
        _, done = journal.read(_journal_to_resume(path))
    cells = [(c, t) for c in cases for t in targets]
    todo = [cell for cell in cells if (cell[0].id, cell[1].name) not in done]
    record = journal.Journal(journal_path(path), {**(header or {}), "env": env}, fresh=not options.resume)

    def finished(index: int, result: CellResult) -> None:
        record.append(result)
        done[(result.case, result.target)] = result
        on_result(result)

    before = failures.stamps(options.save_failures)
    try:
        run_isolated(todo, targets, options.jobs, options.timeout, finished, options.save_failures)
    except BaseException as exc:
        record.close()  # kept for --resume
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(path, len(done), resumable) from None
        raise
    ordered, stale = apply_xfails([done[(c.id, t.name)] for c, t in cells], list(options.xfails))
    ordered = attribute(ordered)  # a failing cell names the primitives of its graph, and a likely culprit
    written = path if (options.results or options.resume) else None
    doc = {**results.document(ordered, infos, env), **(fields or {})}
    if unreached is not None and any(c.primitives for c in ordered):  # which primitives of the build no cell reached
        doc["unreached_primitives"] = primitives.unreached_by_target(ordered, unreached)
    if written:
        results.write(written, doc)
    record.close(remove=True)  # a run that wrote no file leaves no empty .mlxport behind
    saved = failures.written(options.save_failures, before, ordered) if options.save_failures else 0
    return Run(ordered, infos, written, tuple(stale), doc, saved=saved)
