"""--calibrate and the environment record, on the real frameworks at tiny sizes (the numbers
are not checked for speed, only that they are measured, finite and explained)."""

from __future__ import annotations

import math

import pytest

from mlxport.backends import discover
from mlxport.bench import environment, peaks
from mlxport.bench.timing import Budget

TINY = peaks.Sizes(triad_elements=1 << 14, gemm_max=64, gemm_dtypes=("float32",))
QUICK = Budget(warmup_s=0.0, min_s=0.01, max_s=0.2, min_samples=3, rel_spread=0.5)


def target(name):
    found = {t.name: t for t in discover()}
    if name not in found or not found[name].probe().available:
        pytest.skip(f"{name} is not available here")
    return found[name]


def positive(x) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


@pytest.mark.parametrize("name", ["numpy:cpu", "mlx:cpu"])
def test_peaks_are_positive_finite_and_say_how_they_were_measured(name):
    found = peaks.peaks(target(name), TINY, QUICK)
    assert positive(found["bandwidth_gbps"]) and positive(found["flops_gflops"])
    bw, gemm = found["bandwidth"], found["flops"]["float32"]
    assert bw["elements"] == 1 << 14 and bw["bytes_per_call"] == 3 * (1 << 14) * 4
    assert found["bandwidth_gbps"] == pytest.approx(bw["bytes_per_call"] / bw["median_s"] / 1e9, rel=1e-3)
    assert gemm["n"] == 64 and found["flops_gflops"] == pytest.approx(2 * 64 ** 3 / gemm["median_s"] / 1e9, rel=1e-3)
    assert bw["samples"] >= 3 and gemm["samples"] >= 3
    assert "write-allocate not counted" in found["method"] and "median of" in found["method"]
    assert "3 * n * 4" in found["method"] and "2 n^3" in found["method"]


def test_the_gemm_grows_until_a_call_is_long_enough(monkeypatch):
    monkeypatch.setattr(peaks, "GEMM_START", 16)
    monkeypatch.setattr(peaks, "GEMM_MIN_S", 10.0)  # never long enough: stops at the largest n
    assert peaks.gemm(target("numpy:cpu"), "float32", 64, QUICK)["n"] == 64
    monkeypatch.setattr(peaks, "GEMM_MIN_S", 0.0)  # always long enough: the first n
    assert peaks.gemm(target("numpy:cpu"), "float32", 64, QUICK)["n"] == 16


def test_calibrate_measures_each_target_in_a_process_of_its_own():
    found = peaks.calibrate([target("numpy:cpu")], TINY, QUICK)
    assert list(found) == ["numpy:cpu"] and positive(found["numpy:cpu"]["bandwidth_gbps"])


def test_a_target_whose_process_crashes_or_hangs_costs_its_own_entry_only():
    from faulty_backend import _hang, _segfault

    assert peaks.per_target([target("numpy:cpu")], _segfault) == {
        "numpy:cpu": {"error": "its process died (exit status -11)"}}
    assert peaks.per_target([target("numpy:cpu")], _hang, timeout=1.0) == {
        "numpy:cpu": {"error": "did not finish within 1 s"}}


def test_the_environment_names_the_cpu_and_the_blas():
    record = environment.record(target("numpy:cpu"))
    assert record["cpu"]["logical_cpus"] >= 1 and record["cpu"]["model"]
    kinds = {lib["kind"] for lib in record["framework"]["blas_libraries"]}
    pools = record["framework"]["threadpools"]
    assert "OpenBLAS" in kinds or pools is None or any(p["user_api"] == "blas" for p in pools)
    gpu = record["gpu"]
    assert (gpu["devices"] is None) == (gpu["reason"] is not None)


def test_the_mlx_environment_has_its_cache_limit_and_its_own_blas():
    record = environment.record(target("mlx:cpu"))["framework"]
    assert isinstance(record["cache_limit_bytes"], int) and record["cache_limit_bytes"] > 0
    assert record["blas_libraries"] and all("mlx" in lib["path"] for lib in record["blas_libraries"])
    import mlx.core as mx

    assert mx.set_cache_limit(record["cache_limit_bytes"]) == record["cache_limit_bytes"]  # left as found


def test_an_unknown_framework_gets_a_reason_not_an_exception():
    class Other:
        framework, device, name = "other", "cpu", "other:cpu"

    record = environment.record(Other())
    assert "no environment reader" in record["framework"]["reason"]


def test_blas_kind_of_a_library_that_cannot_load():
    assert environment.blas_kind("/nonexistent/libblas.so").startswith("unknown")
