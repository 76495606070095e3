#!/usr/bin/env bash
# The one command for a lent GPU machine (run it there as `bash benchmarks/gpu/run.sh`, with
# `carry: [".whl"]` after benchmarks/gpu/wheels.sh here; timeout_s 540): installs the carried wheels,
# then runs the gpu suite of benchmarks/run.py on JAX within BUDGET_S seconds (default 450),
# writing its JSON lines, table and plot to $OUT.
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia-smi.csv"
python3 -m benchmarks.run --suite gpu --out "$OUT" --budget-s "${BUDGET_S:-450}" 2>&1 | tee "$OUT/log.txt"
