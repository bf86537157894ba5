"""The bench document's Markdown matrix and roofline plot, from a document shaped like a run's."""

from __future__ import annotations

import pytest

from mlxport.bench import matrix, roofline


def rec(case, op, target, median, gbps=None, gflops=None, bw=None, fl=None, speedup=None, status="pass", **extra):
    return {"case": case, "op": op, "dtype": "float32", "target": target, "status": status,
            "validated": median is not None, "median_s": median, "gbps": gbps, "gflops": gflops,
            "bytes": 1000 if gbps else None, "flops": (gflops * 1000 / gbps) if gflops and gbps else None,
            "pct_peak_bw": bw, "pct_peak_flops": fl, "speedup": speedup or {}, "noise": "ok", **extra}


DOC = {
    "schema": "mlxport.bench/1", "created": "2026-11-25T00:00:00Z", "command": "mlxport bench --calibrate",
    "host": {"cpu": "AMD EPYC", "platform": "Linux"},
    "timing": {"significance": {"alpha": 0.002, "margin": 0.1}},
    "peaks": {"numpy:cpu": {"bandwidth_gbps": 10.0, "flops_gflops": 100.0, "method": "triad; gemm"},
              "mlx:cpu": {"bandwidth_gbps": 8.0, "flops_gflops": 2.0, "method": "triad; gemm"}},
    "environment": {"mlx:cpu": {"cpu": {"model": "AMD EPYC", "logical_cpus": 2, "usable_cpus": 2},
                                "framework": {"version": "0.32.4", "cache_limit_bytes": 2**25,
                                              "blas_libraries": [{"path": "/x/libblas.so.3", "kind": "reference"}]}}},
    "results": [
        rec("matmul[a]", "matmul", "numpy:cpu", 0.002, gbps=1.0, gflops=50.0, bw=10, fl=50),
        rec("matmul[a]", "matmul", "mlx:cpu", 0.1, gbps=0.02, gflops=1.0, bw=0.25, fl=50, speedup={"numpy:cpu": 0.02}),
        rec("add[a]", "add", "numpy:cpu", 0.01, gbps=5.0, gflops=0.4, bw=50, fl=0.4),
        rec("add[a]", "add", "mlx:cpu", 0.01, gbps=6.0, gflops=0.5, bw=75, fl=25, speedup={"numpy:cpu": None}),
        rec("exp[a]", "exp", "numpy:cpu", 0.004, gbps=8.0, bw=80),
        rec("exp[a]", "exp", "mlx:cpu", None, status="mismatch", message="values differ | badly"),
    ],
}


def test_the_matrix_has_times_binding_throughput_peaks_and_ratios():
    text = matrix.markdown(DOC)
    assert "Produced by `mlxport bench --calibrate`." in text
    assert "| numpy:cpu | 10 | 100 | triad; gemm |" in text
    assert "| `matmul[a]` | 2 ms | 100 ms | 50 GFLOP/s (50%) | 1 GFLOP/s (50%) | 0.02× |" in text
    # add: 75% of mlx's bandwidth against 25% of its flops: bandwidth binds
    assert "| `add[a]` | 10 ms | 10 ms | 5 GB/s (50%) | 6 GB/s (75%) | ≈ |" in text
    assert "| `exp[a]` | 4 ms | mismatch | 8 GB/s (80%) |  |  |" in text
    assert "| `exp[a]` | mlx:cpu | mismatch | values differ \\| badly |" in text
    assert "cache limit 32 MiB" in text and "libblas.so.3: reference" in text


def test_without_peaks_the_matrix_says_how_to_get_them():
    assert "run with `--calibrate`" in matrix.markdown({**DOC, "peaks": {}})


def test_binding_picks_the_larger_share_of_peak():
    assert matrix.binding({"gflops": 1.0, "pct_peak_flops": 60, "gbps": 3.0, "pct_peak_bw": 30})[0] == "GFLOP/s"
    assert matrix.binding({"gflops": 1.0, "pct_peak_flops": 6, "gbps": 3.0, "pct_peak_bw": 30})[0] == "GB/s"
    assert matrix.binding({"gflops": None, "gbps": 3.0, "pct_peak_bw": None}) == ("GB/s", 3.0, None)


def test_roofline_points_are_intensity_and_gflops_of_timed_cases_with_flops():
    found = roofline.points(DOC)
    assert sorted(found) == ["mlx:cpu", "numpy:cpu"]
    assert ("matmul", 50.0, 50.0) in found["numpy:cpu"] and all(op != "exp" for op, _, _ in found["numpy:cpu"])


def test_roofline_renders_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is the 'plot' extra; the roofline is not tested without it")
    path = tmp_path / "roofline.png"
    roofline.write(DOC, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    roofline.write({**DOC, "peaks": {}, "results": []}, tmp_path / "empty.png")  # nothing to plot: still a picture
    assert (tmp_path / "empty.png").stat().st_size > 1000
