# The decoder daemon with CUDA. Build from the repository root:
#   docker build -f deploy/docker/decoder.Dockerfile -t stereo-decoder .
# Run (needs the NVIDIA container toolkit):
#   docker run --gpus all -p 5555:5555 -p 8470:8470 \
#     -v $PWD/configs/decoder.toml:/etc/stereo-pipeline/decoder.toml:ro \
#     -v $PWD/host-keys:/var/lib/stereo-pipeline/keys:ro stereo-decoder
# The config turns CURVE on: host-keys/ (decoder.key_secret, cameras/, subscribers/) owned by
# 10001, secret keys 0600 (docs/install.md, docs/security.md).
#
# Which CUDA build, and why: torch 2.14.1's default wheel from PyPI, built for CUDA 13.0. It is
# the build `make test` installs and the project's GPU checks run (H200), and its nvidia-*
# wheels bring the CUDA user-space libraries (runtime, cuBLAS, cuDNN: 3.2 GB), so the image
# needs no CUDA base image (the former nvidia/cuda:12.8 base duplicated them, and its cu128
# wheels were a build nothing here tested). The host needs an NVIDIA driver that runs
# CUDA 13.0 (580 or newer); the container toolkit mounts it in. For an older driver, build
# with torch's CUDA 12.8 wheels instead (driver 570 or newer):
#   --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
FROM python:3.11-slim AS build
ARG TORCH_INDEX=https://pypi.org/simple
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/stereo-pipeline
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY camera_nodes ./camera_nodes
COPY decoder_node ./decoder_node
COPY stereo_app ./stereo_app
# torch first, from TORCH_INDEX; then the project with the learned extra (the pinned versions)
RUN /opt/stereo-pipeline/bin/pip install --index-url "$TORCH_INDEX" \
        "torch==2.14.1" "torchvision==0.29.1" \
 && /opt/stereo-pipeline/bin/pip install ".[learned]"

FROM python:3.11-slim
# what the nvidia/cuda images set: the toolkit mounts the driver's compute libraries, and with
# `video` its NVDEC library (libnvcuvid), which FFmpeg's h264_cuvid ... open for video streams
# (docs/video.md; without it they decode on the CPU)
# NUMBA_CACHE_DIR: numba's compiled rANS decoder, outside the install tree (which may be read-only)
ENV PYTHONUNBUFFERED=1 PATH=/opt/stereo-pipeline/bin:$PATH HEALTH_PORT=8470 \
    NUMBA_CACHE_DIR=/tmp/numba \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility,video
# libGL/glib for opencv-python; user and group stereo pinned to 10001
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 stereo \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /var/lib/stereo-pipeline --shell /usr/sbin/nologin stereo \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/stereo-pipeline
COPY --from=build /opt/stereo-pipeline /opt/stereo-pipeline
COPY configs/decoder.toml /etc/stereo-pipeline/decoder.toml
USER 10001:10001
# the state directory: the example config's relative PNG sink (out/decoded) lands here;
# mount a volume on it to keep outputs (and weights, docs/weights.md)
WORKDIR /var/lib/stereo-pipeline
# 5555 frames in (PULL), 5556 republish (PUB, when the zmq sink is configured), 5557 keyframe
# requests to video cameras (PUB, when [keyframe_requests] bind is set), 8470 /metrics + /healthz
EXPOSE 5555 5556 5557 8470
STOPSIGNAL SIGTERM
# python's urllib (no curl in the image): exits 1 unless /healthz answers 200
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['HEALTH_PORT']}/healthz\", timeout=2)"]
ENTRYPOINT ["stereo-pipeline", "decoder"]
CMD ["--config", "/etc/stereo-pipeline/decoder.toml"]
