#!/usr/bin/env bash
# One call on a lent GPU machine (at most 6 minutes): install, then run the decoder's two
# throughput benchmarks on CUDA and bring their JSON back under $OUT.
#
# Prepare here (both folders are git-ignored), then carry [".whl", ".gpu/bench"] (and
# ".whl-numba" for the bounds-checked entropy decoder; without it the decoder falls back to
# CompressAI's, allowed by STEREO_ALLOW_UNCHECKED_RANS=1 below, docs/bitstream.md):
#   mkdir -p .whl && cp ../shared/device/wheels-py312/*.whl .whl/
#   python -m pipeline.training.data.pack --out .gpu/bench --stereo ../shared/data/stereo/oakd \
#       ../shared/data/stereo/karlsruhe_0023 --limit 8
#   pip download --no-deps --python-version 3.12 --only-binary=:all: \
#       --platform manylinux2014_x86_64 -d .whl-numba numba==0.61.2 llvmlite==0.44.0
# Device call:  bash deploy/gpu/bench.sh      (try it here first: SKIP_INSTALL=1 DEVICE=cpu TINY=1)
# Settings (environment): DEVICE=cuda, OUT=out/gpu-bench, PAIRS=64 (pairs per setting),
# BATCHES="1 4 8 16 32", RATES="100 200 300 400" (pairs/s offered to the daemon), RIGS=8,
# SECONDS_PER_RATE=15; TINY=1 shrinks everything for a CPU try-out.
set -uo pipefail
DEVICE=${DEVICE:-cuda} OUT=${OUT:-out/gpu-bench} PY=${PY:-python3}
PAIRS=${PAIRS:-64} BATCHES=${BATCHES:-"1 4 8 16 32"} RATES=${RATES:-"100 200 300 400"}
RIGS=${RIGS:-8} SECONDS_PER_RATE=${SECONDS_PER_RATE:-15}
if [ -n "${TINY:-}" ]; then PAIRS=2 BATCHES="1 2" RATES="0.5" RIGS=1 SECONDS_PER_RATE=4; fi
if [ -z "${SKIP_INSTALL:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
  [ -d .whl-numba ] && $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \
    .whl-numba/*.whl
  export PYTHONPATH=/tmp/site:$PWD
fi
# without .whl-numba this machine has no numba: allow CompressAI's unchecked rANS decoder
# (its inputs here are our own streams; pipeline/codec/entropy/rans.py)
export PYTHONUNBUFFERED=1 STEREO_ALLOW_UNCHECKED_RANS=1
mkdir -p "$OUT"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
  $PY -c "import torch, numpy; from pipeline.codec.entropy import rans; print('torch', torch.__version__,
'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__, 'bounds-checked rANS',
rans.BOUNDS_CHECKED)"
} | tee "$OUT/machine.txt"
timeout 200 $PY -m benchmarks.decode_throughput --device "$DEVICE" --data .gpu/bench/stereo \
  --pairs "$PAIRS" --batches $BATCHES --ensembles 1 8 --out "$OUT/decode_throughput.json" \
  | tail -c 1500
timeout 120 $PY -m benchmarks.pipeline_load --device "$DEVICE" --data .gpu/bench/stereo \
  --rates $RATES --rigs "$RIGS" --seconds "$SECONDS_PER_RATE" --batch 32 --max-wait-ms 5 \
  --p99-bound 0.1 --drain 20 --out "$OUT/pipeline_load.json" | tail -c 1500
ls -la "$OUT"
