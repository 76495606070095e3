import glob
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow  # 84 s; keeps CI under 30 minutes. Run it (-m slow) before any device run.
def test_quick_benchmark_writes_consistent_json_lines(tmp_path):
    result = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    [jsonl] = glob.glob(str(tmp_path / "*.jsonl"))
    records = [json.loads(line) for line in open(jsonl)]
    assert not [r for r in records if "error" in r]
    inference = [r for r in records if r["suite"] == "inference"]
    training = [r for r in records if r["suite"] == "training"]
    assert {r["jit"] for r in inference if r["method"] == "lama_tiny"} == {False, True}
    assert {r["method"] for r in inference} >= {"lama_tiny", "baseline:telea", "baseline:navier_stokes"}
    for r in inference:
        assert r["device"]["tensorflow"] and r["settings"]["repeats"] == 3
        assert 0 < r["latency_p50_ms"] <= r["latency_p90_ms"]
        # throughput is batch / median latency
        assert abs(r["throughput_img_s"] - r["batch"] / (r["latency_p50_ms"] / 1000)) < 1e-6 * r["throughput_img_s"]
        if not r["method"].startswith("baseline"):
            assert r["gflops_per_image"] > 0 and r["first_call_s"] > 0 and r["peak_memory_mb"] > 0 and r["parameters"] > 0
    # Same model, same FLOPs with and without XLA.
    flops = {r["gflops_per_image"] for r in inference if r["method"] == "lama_tiny"}
    assert len(flops) == 1
    assert [r["replicas"] for r in training] == [1, 2]
    assert training[1]["batch"] == 2 * training[0]["batch"]
    for r in training:
        assert r["steps_per_s"] > 0 and abs(r["throughput_img_s"] - r["steps_per_s"] * r["batch"]) < 1e-6 * r["throughput_img_s"]
    expected = training[1]["throughput_img_s"] / (2 * training[0]["throughput_img_s"])
    assert abs(training[1]["scaling_efficiency"] - expected) < 1e-9
    [table] = glob.glob(str(tmp_path / "*.md"))
    assert "| lama_tiny | 64 | 2 | float32 | True |" in open(table).read()


def test_results_folder_is_named_after_the_device():
    from benchmarks.run import results_folder_name

    assert results_folder_name("CPU (x86_64, 2 cores)") == "CPU_2core"
    assert results_folder_name("NVIDIA H100 80GB HBM3") == "NVIDIA_H100_80GB_HBM3"
    assert results_folder_name("CPU (arm64)") == "CPU"


def test_quick_hd_strategy_benchmark_writes_json_and_table(tmp_path):
    result = subprocess.run([sys.executable, "-m", "benchmarks.hd_strategy", "--quick", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.load(open(tmp_path / "hd_strategy.json"))
    [case] = record["memory"]
    assert case["strategy"] == "crop" and case["crops"] == 1 and 0.009 < case["hole_ratio"] < 0.011
    assert case["peak_mb"] >= case["rss_before_mb"] > 0 and case["first_call_s"] > 0 and case["estimate_mb"] > 0
    assert {r["variant"] for r in record["quality"]} == {"crop m128", "resize"}
    assert all(r["psnr_hole"] > 10 and 0 < r["ssim_hole"] <= 1 for r in record["quality"])
    assert not any(os.path.isabs(str(v)) for r in record["quality"] for v in r.values())
    table = open(tmp_path / "hd_strategy.md").read()
    assert "| 0.3 | 632x474 | crop |" in table and "| hole1% | resize |" in table


@pytest.mark.slow  # about 70 s: three training processes
def test_quick_multi_worker_benchmark_compares_one_and_two_workers(tmp_path):
    result = subprocess.run([sys.executable, "-m", "benchmarks.multi_worker", "--quick", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    cases = json.load(open(tmp_path / "multi_worker.json"))["cases"]
    assert [(c["workers"], c["replicas"], c["global_batch"]) for c in cases] == [(1, 1, 1), (2, 2, 2)]
    assert all(c["steps_per_s"] > 0 and c["images_per_s"] == pytest.approx(c["steps_per_s"] * c["global_batch"],
                                                                          rel=0.01) for c in cases)
    assert "| 2 | 2 | 2 |" in open(tmp_path / "multi_worker.md").read()


def _gpu_suite(tmp_path, *extra):
    result = subprocess.run([sys.executable, "-m", "benchmarks.run", "--suite", "gpu", "--quick", "--out", str(tmp_path),
                             *extra], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    (lines,) = glob.glob(str(tmp_path / "gpu-quick-*.jsonl"))
    return [json.loads(line) for line in open(lines)]


def test_gpu_suite_skips_the_cells_its_time_budget_leaves_no_room_for(tmp_path):
    records = _gpu_suite(tmp_path, "--budget-s", "1")
    assert records and all(r["skipped"] == "time budget" for r in records)
    assert records[0]["method"] == "lama_tiny" and records[0]["precision"] == "mixed_bfloat16"  # the MFU cell first
    assert {r["suite"] for r in records} == {"inference", "training"}
    assert glob.glob(str(tmp_path / "gpu-quick-*.md"))


@pytest.mark.slow  # about 2 minutes on 2 cores; run it (-m slow) before a device run
def test_gpu_suite_quick_runs_every_kind_of_cell(tmp_path):
    records = _gpu_suite(tmp_path, "--budget-s", "900")
    assert not [r for r in records if "error" in r or "skipped" in r]
    assert {(r["suite"], r["precision"]) for r in records} >= {("inference", "float32"),
                                                                ("inference", "mixed_bfloat16"),
                                                                ("training", "mixed_bfloat16")}
    assert all(r["throughput_img_s"] > 0 for r in records)
