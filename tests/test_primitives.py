"""The primitive classes are read from the installed MLX library; every name a graph holds has a
class; every class is reached on mlx:cpu by the catalog or has a reason; list --primitives."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlxport import primitives as P
from mlxport.check import Selection, builtin_cases, case_files, select_cases
from mlxport.model import InputError

from conftest import run_cli

mx = pytest.importorskip("mlx.core")

from mlxport.backends.mlx_backend import METHODS  # noqa: E402  (after the skip: it needs no MLX, its tests do)

CPU = "mlx:cpu"
SETITEM = METHODS["setitem"]  # a[index] = values, on a copy


def labels(*outputs) -> set[str]:
    """The names of the primitives in the graph of ``outputs``, as mx.export_to_dot writes them."""
    text = io.StringIO()
    mx.export_to_dot(text, *outputs)
    return set(re.findall(r'label ="([^"]*)"', text.getvalue()))


def test_the_classes_are_those_of_the_three_namespaces_less_the_abstract_bases():
    found = set(P.classes())
    assert {"Add", "Scan", "Reduce", "BitwiseBinary", "RMSNorm", "Quantize", "AllReduce", "Send"} <= found
    assert not found & set(P.ABSTRACT)
    assert not found & {"Allocator", "CommonAllocator", "FileWriter", "RingGroup", "GroupImpl"}  # deeper namespaces
    assert len(found) > 100


def test_type_names_are_read_by_their_length_prefix(tmp_path):
    strings = [b"N3mlx4core3AddE", b"N3mlx4core4fast7RMSNormE", b"*N3mlx4core11distributed4SendE",
               b"N3mlx4core9PrimitiveE", b"N3mlx4core2io6WriterE", b"N3mlx4core11distributed4ring9RingGroupE",
               b"_ZTSN3mlx4core3SubE", b"IN3mlx4core3MulE"]  # a symbol's name, a template argument
    lib = tmp_path / "libmlx.so"
    lib.write_bytes(b"\x00".join([b"", *strings, b""]))
    assert P.classes(lib) == ("Add", "RMSNorm", "Send")


def test_the_abstract_bases_are_the_bases_that_the_installed_headers_derive_from():
    """The one list of ours, checked against MLX's own class hierarchy, where the build ships it."""
    include = P.library().parent.parent / "include" / "mlx"
    headers = [include / "primitives.h", include / "fast_primitives.h", include / "distributed" / "primitives.h"]
    if not all(h.is_file() for h in headers):
        pytest.skip("this MLX build ships no headers")
    derived = dict(re.findall(r"class (?:MLX_API )?(\w+)(?: final)?\s*:\s*public\s+(?:\w+::)*(\w+)",
                              "".join(h.read_text() for h in headers)))
    tree = {"Primitive"}  # and every class that derives from it, however deep
    while more := {cls for cls, base in derived.items() if base in tree} - tree:
        tree |= more
    abstract = {base for base in derived.values() if base in tree}
    assert abstract == set(P.ABSTRACT)
    assert tree - abstract <= set(P.classes())  # every concrete primitive of the headers


def test_names_map_to_classes():
    names = P.Names(frozenset({"Add", "Scan", "Reduce", "View", "Compiled", "Equal"}),
                    {"Scan": ("CumSum", "CumMax"), "Reduce": ("Sum",), "View": ("View *",),
                     "Compiled": ("Compiled*",), "Equal": ("Equal", "NaNEqual"), "Gone": ("Old",)})
    assert [names.class_of(n) for n in ("CumSum", "Sum", "Add", "View int32", "CompiledAddMultiply", "NaNEqual",
                                        "Equal")] == ["Scan", "Reduce", "Add", "View", "Compiled", "Equal", "Equal"]
    assert names.class_of("Reduce") is None  # a listed class's instances take only the listed names
    assert names.class_of("Old") is None and names.class_of("Mystery") is None  # not a class of this build
    assert names.of("Scan") == ("CumSum", "CumMax") and names.of("Add") == ("Add",)


WIDE = {  # ops whose instances take names other than their class's, and some ordinary ones
    "Scan": lambda a, i, m: [mx.cumsum(a), mx.cumprod(a), mx.cummax(a), mx.cummin(a), mx.logcumsumexp(a)],
    "Reduce": lambda a, i, m: [mx.sum(a), mx.prod(a), mx.max(a), mx.min(a), mx.all(m), mx.any(m)],
    "BitwiseBinary": lambda a, i, m: [i & i, i | i, i ^ i, i << 1, i >> 1],
    "Log": lambda a, i, m: [mx.log(a), mx.log2(a), mx.log10(a)],
    "Sqrt": lambda a, i, m: [mx.sqrt(a), mx.rsqrt(a)],
    "Equal": lambda a, i, m: [mx.equal(a, a), mx.array_equal(a, a, equal_nan=True)],
    "Scatter": lambda a, i, m: [a.at[i].add(1.0), a.at[i].multiply(2.0), a.at[i].maximum(0.0),
                                a.at[i].minimum(0.0), SETITEM(a, i, 5.0)],
    "ScatterAxis": lambda a, i, m: [mx.put_along_axis(a, i[:, None], a, axis=0)],
    "SliceUpdate": lambda a, i, m: [SETITEM(a, slice(1, 3), 0.0), a.at[1:].add(1.0), a.at[1:].multiply(2.0),
                                    a.at[1:].maximum(0.0), a.at[1:].minimum(0.0)],
    "View": lambda a, i, m: [a.view(mx.int32), a.view(mx.uint8)],
    "ConvertFP8": lambda a, i, m: [mx.to_fp8(a), mx.from_fp8(mx.to_fp8(a))],
    "MaskedScatter": lambda a, i, m: [SETITEM(a, m, 1.0)],
    "Compiled": lambda a, i, m: [mx.compile(lambda x: mx.exp(x) * 2 + 1)(a)],
    "NumberOfElements": lambda a, i, m: [mx.compile(lambda x: mx.mean(x, axis=0), shapeless=True)(a)],
    "Copy": lambda a, i, m: [mx.vjp(lambda x: x * 2, [a], [a])[0][0]],
}


def test_every_name_that_a_wide_set_of_real_ops_makes_has_a_class_of_the_library():
    a, i = mx.array([[0.5, 1.5, 2.5], [3.0, 4.0, 5.0]]), mx.array([1, 0], dtype=mx.uint32)
    m = a > 1.0
    for cls, build in WIDE.items():
        seen = labels(*build(a, i, m))
        assert {n: P.class_of(n) for n in seen if P.class_of(n) is None} == {}, cls
        assert cls in {P.class_of(n) for n in seen}, f"{cls}: not made by {sorted(seen)}"


@pytest.fixture(scope="module")
def catalog_reach():
    """The graphs of every case of the catalog on mlx:cpu, built and never evaluated."""
    from mlxport.backends.mlx_backend import MLXTarget

    start = time.perf_counter()
    found = P.reach(select_cases(Selection()), MLXTarget("cpu"))
    return found, time.perf_counter() - start


def test_every_name_in_a_graph_of_the_catalog_has_a_class(catalog_reach):
    found, seconds = catalog_reach
    assert found.unknown == {}  # a name MLX gives that no class of the library takes: update primitive-names.yaml
    assert seconds < 60


def test_every_primitive_is_reached_on_mlx_cpu_or_has_a_reason_that_holds_there(catalog_reach):
    """A new MLX release shows its new primitives here first: add a case, or a reason."""
    found, _ = catalog_reach
    reasons = P.unreachable([builtin_cases()])
    missing = [cls for cls in P.classes() if cls not in found.classes and not P.reason(reasons, cls, CPU)]
    assert missing == []
    needless = {cls: found.classes[cls] for cls in reasons if cls in found.classes and P.reason(reasons, cls, CPU)}
    assert needless == {}  # reached on mlx:cpu, yet listed as unreachable there
    assert P.stale([builtin_cases()]) == []


def test_unreached_lists_the_classes_that_no_cell_of_the_target_reached():
    cells = [SimpleNamespace(target=CPU, primitives=("Add", "CumSum", "Scatter Sum")),
             SimpleNamespace(target=CPU, primitives=None),  # a skip
             SimpleNamespace(target="mlx:gpu", primitives=("RMSNorm",))]
    known = ["Add", "RMSNorm", "Scan", "Scatter", "Sort"]
    assert P.unreached(cells, CPU, known) == ["RMSNorm", "Sort"]
    assert P.unreached(cells, "mlx:gpu", known) == ["Add", "Scan", "Scatter", "Sort"]
    assert "Add" not in P.unreached(cells, CPU) and "Load" in P.unreached(cells, CPU)  # the installed build


def test_a_reason_holds_on_the_targets_it_names(tmp_path):
    (tmp_path / P.UNREACHABLE).write_text('unreachable:\n  Send: "needs a group"\n'
                                          '  RMSNorm: {"mlx:cpu": "a composition there"}\n')
    reasons = P.unreachable([tmp_path])
    assert P.reason(reasons, "Send", "mlx:gpu") == "needs a group"
    assert P.reason(reasons, "RMSNorm", CPU) == "a composition there" and P.reason(reasons, "RMSNorm", "mlx:gpu") is None


@pytest.mark.parametrize("text, error", [
    ("unreachable:\n  Send: ok\n  Recv: ''\n", r":3: Recv: every unreachable primitive needs a reason"),
    ("unreachable:\n  RMSNorm: {}\n", r":2: RMSNorm: every unreachable primitive needs a reason"),
    ("- Send\n", ": a mapping with one field 'unreachable'"),
])
def test_a_bad_unreachable_file_names_its_line(tmp_path, text, error):
    (tmp_path / P.UNREACHABLE).write_text(text)
    with pytest.raises(InputError, match=re.escape(P.UNREACHABLE) + error):
        P.unreachable([tmp_path])


def test_the_data_files_beside_the_cases_are_not_case_files():
    assert not [f for f in case_files(()) if f.name in (P.NAMES, P.UNREACHABLE)]


def test_a_name_belongs_to_one_class(tmp_path):
    path = tmp_path / P.NAMES
    path.write_text("names:\n  Reduce: [Sum, Max]\n  Scan: [CumSum, Sum]\n")
    with pytest.raises(InputError, match=r":3: Scan: 'Sum' is Reduce's already"):
        P.load_names(path)
    assert set(P.load_names(builtin_cases() / P.NAMES)) <= set(P.classes())


def test_list_primitives_reads_the_library_and_shows_the_reasons(tmp_path):
    done = run_cli("list", "--primitives", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert set(rows) == set(P.classes())
    assert rows["Scan"]["names"][0] == "CumSum" and rows["Add"] == {"name": "Add", "names": ["Add"], "unreachable": {}}
    assert set(rows["RMSNorm"]["unreachable"]) == {CPU} and set(rows["Send"]["unreachable"]) == {"*"}
    (tmp_path / P.UNREACHABLE).write_text("unreachable:\n  NoSuchPrimitive: a typo\n")
    done = run_cli("list", "--primitives", "--cases", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert re.search(r"\d+ primitive classes in MLX [\d.]+ \(libmlx\.\w+\), \d+ with a reason", done.stdout)
    assert "primitive entry NoSuchPrimitive: not a primitive class of MLX" in done.stdout
