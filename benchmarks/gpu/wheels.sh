#!/usr/bin/env bash
# Run here, before a GPU run: download the wheels that the lent GPU machine lacks into .whl/
# (ignored by git; carried with `carry: [".whl"]`). Its image has Python 3.12, JAX with CUDA,
# NumPy, h5py, Pillow, SciPy, rich, regex, tokenizers, sentencepiece and huggingface-hub, but
# neither TensorFlow (whose wheel is far over the 64 MiB a call may carry) nor Keras: the GPU
# suite runs on KERAS_BACKEND=jax, which needs no TensorFlow.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
rm -rf .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    "keras==$(python3 -c 'import keras; print(keras.__version__)' 2>/dev/null || echo 3.15.1)" \
    keras-hub==0.32.0 namex optree
ls -l .whl
du -sh .whl
