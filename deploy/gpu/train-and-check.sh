#!/usr/bin/env bash
# One call on a lent GPU machine: train dsin-s1 on CUDA from the shipped weights, export it,
# then decode real pairs on the CPU and on CUDA and compare (benchmarks/decode_devices.py).
#
# Carry .whl (../shared/device/wheels-py312) and .gpu/data (python -m pipeline.training.data.pack,
# see docs/models.md). Everything it makes lands under $OUT: gpu.txt, run/checkpoint.pt,
# run/log.jsonl, weights/*.pt, decode_devices.json.
# Settings (environment): MINUTES=7 CROP=256 BATCH=16 WORKERS=12 LR=3e-4 DEVICE=cuda;
# MODE=codec (the codec alone, --codec-only: the codec's transforms are what limits quality, and
# its steps skip the SI-Finder) or MODE=joint (DSIN's joint loss; then the SI-Net learns too);
# FROM=path/checkpoint.pt resumes that checkpoint (a fresh learning-rate schedule) instead of
# starting from the shipped weights; LR_DROP=0.15 is the share of the run at a tenth of the rates;
# MODE=encoder (the camera side alone: --codec-only --encoder-only); N_A=96 widens the camera's
# analysis transform of the shipped weights first (--n-a; with FROM, widen that checkpoint with
# python -m pipeline.training.surgery.widen --n-a instead); GREY_SHARE=0.5: that share of items grey;
# SI_MINUTES=0 (more than 0: then fine-tune the SI-Net alone, --freeze-codec, on the codec just
# trained, batch SI_BATCH=8, lr SI_LR=5e-4, on SI_OBJECTIVE=psnr (or rd, the joint loss), in
# OUT/si, and export that); MODE=si skips the codec run: the SI-Net alone from the shipped
# weights (or FROM) for SI_MINUTES; SKIP_DECODE=1 to skip
# the CPU/CUDA decode comparison; SKIP_INSTALL=1 to try it on a machine whose Python already has
# the packages.
set -uo pipefail
MINUTES=${MINUTES:-7} CROP=${CROP:-256} BATCH=${BATCH:-16} WORKERS=${WORKERS:-12}
LR=${LR:-3e-4} DEVICE=${DEVICE:-cuda} OUT=${OUT:-out/gpu} PY=${PY:-python3} MODE=${MODE:-codec}
LR_DROP=${LR_DROP:-0.15}
case "$MODE" in codec) STAGE=--codec-only ;; encoder) STAGE="--codec-only --encoder-only" ;;
  joint|si) STAGE= ;; *) echo "MODE=$MODE?"; exit 2 ;; esac
[ -z "${N_A:-}" ] || STAGE="$STAGE --n-a $N_A"
STAGE="$STAGE --grey-share ${GREY_SHARE:-0}"
D=.gpu/data
if [ -z "${SKIP_INSTALL:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
# this machine has no numba: allow CompressAI's unchecked rANS decoder for the decode check
# (its inputs are our own streams; pipeline/codec/entropy/rans.py)
export PYTHONUNBUFFERED=1 STEREO_ALLOW_UNCHECKED_RANS=1
mkdir -p "$OUT/run"
INIT=--init-from-shipped
if [ -n "${FROM:-}" ]; then cp "$FROM" "$OUT/run/checkpoint.pt" && chmod u+w "$OUT/run/checkpoint.pt" && INIT=; fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
  $PY -c "import torch, compressai; print('torch', torch.__version__, 'cuda',
torch.cuda.is_available(), 'coders', compressai.available_entropy_coders())"
} | tee "$OUT/gpu.txt"
[ "$MODE" = si ] || timeout $(( ${MINUTES%.*} * 60 + 90 )) $PY -m stereo_app.cli train --device "$DEVICE" \
  $INIT --pairs $D/stereo/* --images $D/natural/* --out "$OUT/run" \
  --crop "$CROP" --batch "$BATCH" --lr "$LR" --si-lr 1e-3 --lr-drop-last "$LR_DROP" \
  --minutes "$MINUTES" --workers "$WORKERS" $STAGE 2>&1 | tr '\r' '\n' | grep -v '^$' | tail -n 8
FINAL=$OUT/run
if [ "$MODE" = si ] && [ "${SI_MINUTES:-0}" = 0 ]; then echo "MODE=si needs SI_MINUTES"; exit 2; fi
if [ "${SI_MINUTES:-0}" != 0 ]; then
  FINAL=$OUT/si && mkdir -p "$FINAL"
  SI_INIT=
  if [ -f "$OUT/run/checkpoint.pt" ]; then cp "$OUT/run/checkpoint.pt" "$FINAL/"; else SI_INIT=$INIT; fi
  timeout $(( ${SI_MINUTES%.*} * 60 + 90 )) $PY -m stereo_app.cli train --device "$DEVICE" $SI_INIT \
    --si-objective "${SI_OBJECTIVE:-psnr}" \
    --pairs $D/stereo/* --images $D/natural/* --out "$FINAL" --crop "$CROP" \
    --batch "${SI_BATCH:-8}" --si-lr "${SI_LR:-5e-4}" --lr-drop-last 0.2 --freeze-codec \
    --minutes "$SI_MINUTES" --workers "$WORKERS" 2>&1 | tr '\r' '\n' | grep -v '^$' | tail -n 8
fi
$PY -m stereo_app.cli export "$FINAL/checkpoint.pt" --out-dir "$OUT/weights"
[ -n "${SKIP_DECODE:-}" ] || \
timeout 240 $PY -m benchmarks.decode_devices --pairs $D/stereo/euroc_v1_01 --limit 8 --batch 4 \
  --repeats 2 --ensembles 1 8 --out "$OUT/decode_devices.json" | tail -c 3000
ls -la "$OUT" "$OUT/run" "$OUT/weights" "$FINAL"
