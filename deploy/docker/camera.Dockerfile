# A camera node on the CPU, from the torch-free base install (standard codecs: avif, webp,
# jpeg; video codecs h264, hevc, av1 through PyAV, whose wheel carries FFmpeg; docs/install.md).
# Build from the repository root:
#   docker build -f deploy/docker/camera.Dockerfile -t stereo-camera .
# A dsin camera needs the learned extra with torch's CPU build:
#   docker build -f deploy/docker/camera.Dockerfile --build-arg EXTRAS=learned -t stereo-camera-dsin .
# Run one per view with the camera device and its group (the host's video gid) passed in;
# the right view listens on 8472, so give its health check that port:
#   docker run --device /dev/video0 --group-add "$(getent group video | cut -d: -f3)" \
#     -p 8471:8471 -v $PWD/configs/camera-left.toml:/etc/stereo-pipeline/camera.toml:ro \
#     -v $PWD/host-keys:/var/lib/stereo-pipeline/keys:ro stereo-camera
# The config turns CURVE on: host-keys/ holds only this camera's .key_secret (0600, owned by
# 10001) and the decoder's public decoder.key (docs/install.md, docs/security.md).
#   docker run ... -e HEALTH_PORT=8472 -p 8472:8472 -v .../camera-right.toml:... stereo-camera
# An H.264 camera (decoders upgraded first: docs/operations.md) is the same image and run with
# -v $PWD/configs/camera-h264.toml:/etc/stereo-pipeline/camera.toml:ro; it writes nothing.
FROM python:3.11-slim AS build
ARG EXTRAS=""
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/stereo-pipeline
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY camera_nodes ./camera_nodes
COPY decoder_node ./decoder_node
COPY stereo_app ./stereo_app
# torch's CPU build first, from its own index, only when the learned extra is asked for
RUN if [ -n "$EXTRAS" ]; then /opt/stereo-pipeline/bin/pip install --index-url "$TORCH_INDEX" \
        "torch==2.14.1" "torchvision==0.29.1"; fi \
 && /opt/stereo-pipeline/bin/pip install ".${EXTRAS:+[$EXTRAS]}"

FROM python:3.11-slim
# NUMBA_CACHE_DIR: a dsin camera's numba cache, outside the install tree (which may be read-only)
ENV PYTHONUNBUFFERED=1 PATH=/opt/stereo-pipeline/bin:$PATH HEALTH_PORT=8471 \
    NUMBA_CACHE_DIR=/tmp/numba
# libGL/glib for opencv-python; user and group stereo pinned to 10001 (Kubernetes
# runAsUser/runAsGroup/fsGroup use the same numbers)
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 stereo \
 && useradd --system --uid 10001 --gid 10001 --groups video --no-create-home \
        --home-dir /var/lib/stereo-pipeline --shell /usr/sbin/nologin stereo \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/stereo-pipeline
COPY --from=build /opt/stereo-pipeline /opt/stereo-pipeline
COPY configs/camera-left.toml /etc/stereo-pipeline/camera.toml
USER 10001:10001
WORKDIR /var/lib/stereo-pipeline
# /metrics and /healthz (8471 left, 8472 right)
EXPOSE 8471 8472
STOPSIGNAL SIGTERM
# python's urllib (no curl in the image): exits 1 unless /healthz answers 200
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['HEALTH_PORT']}/healthz\", timeout=2)"]
ENTRYPOINT ["stereo-pipeline", "camera"]
CMD ["--config", "/etc/stereo-pipeline/camera.toml"]
