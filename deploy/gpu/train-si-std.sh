#!/usr/bin/env bash
# One call on a lent GPU machine: train the standard-codec SI-Net (si-std1) on CUDA.
#
# The 16 host cores code the packed training pairs with JPEG, WebP and AVIF and run the
# SI-Finder on them (python -m pipeline.training.standard.prepare), the GPU trains the SI-Net on
# the crops (.train), then it is calibrated on the held-out pairs and exported; bring back
# $OUT/weights/si-std1-*.pt and $OUT/run/{checkpoint.pt,log.jsonl}, evaluate here
# (stereo-pipeline eval --codecs jpeg_si webp_si avif_si ...) and ship it if it is better.
#
# Carry .whl (../shared/device/wheels-py312) and .gpu/data (python -m pipeline.training.data.pack,
# docs/models.md; the evaluation sets are not in it). Try it here first:
#   SKIP_INSTALL=1 DEVICE=cpu TINY=1 PY=.venv/bin/python bash deploy/gpu/train-si-std.sh
# Settings (environment): MINUTES=6 (training), WIDTH=64 SHUFFLE=2 (a new net; the shipped one
# is width 32 at full resolution, FROM=checkpoint resumes one instead), BATCH=32 CROP=192
# LR=1e-3, PER_SOURCE=2 (qualities per codec and source), WORKERS=14, DEVICE=cuda.
set -uo pipefail
MINUTES=${MINUTES:-6} WIDTH=${WIDTH:-64} SHUFFLE=${SHUFFLE:-2} BATCH=${BATCH:-32}
CROP=${CROP:-192} LR=${LR:-1e-3} PER_SOURCE=${PER_SOURCE:-2} WORKERS=${WORKERS:-14}
DEVICE=${DEVICE:-cuda} OUT=${OUT:-out/gpu-si-std} PY=${PY:-python3} D=${DATA:-.gpu/data}
PREP_MINUTES=${PREP_MINUTES:-5}
if [ -n "${TINY:-}" ]; then MINUTES=0.3 BATCH=2 CROP=64 PER_SOURCE=1 WORKERS=2 PREP_MINUTES=2; fi
if [ -z "${SKIP_INSTALL:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1
mkdir -p "$OUT/run" "$OUT/weights"
PAIRS=$(ls -d $D/stereo/* | grep -v -e karlsruhe_0023 -e /oakd -e /middlebury$)
IMAGES=$(ls -d $D/natural/*)
[ -n "${TINY:-}" ] && PAIRS=$(echo "$PAIRS" | head -n 1) && IMAGES=
timeout $(( PREP_MINUTES * 60 )) $PY -m pipeline.training.standard.prepare --out "$OUT/data" \
  --pairs $PAIRS --images $IMAGES --per-source "$PER_SOURCE" --workers "$WORKERS" | tail -n 2
[ -z "${FROM:-}" ] || { cp "$FROM" "$OUT/run/checkpoint.pt" && chmod u+w "$OUT/run/checkpoint.pt"; }
timeout $(( ${MINUTES%.*} * 60 + 120 )) $PY -m pipeline.training.standard.train --device "$DEVICE" \
  --data "$OUT/data" --out "$OUT/run" --minutes "$MINUTES" --width "$WIDTH" --shuffle "$SHUFFLE" \
  --batch "$BATCH" --crop "$CROP" --lr "$LR" --lr-drop-last 0.15 --log-every 50 2>&1 | tail -n 6
$PY -m pipeline.training.standard.calibrate "$OUT/run/checkpoint.pt" "$OUT/run/calibrated.pt" \
  --pairs $PAIRS --per-folder 1 | tail -n 4
$PY -m pipeline.training.standard.export "$OUT/run/calibrated.pt" --out-dir "$OUT/weights"
rm -rf "$OUT/data"
ls -la "$OUT/run" "$OUT/weights"
