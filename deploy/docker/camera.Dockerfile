# A camera node (CPU only). Build from the repository root:
#   docker build -f deploy/docker/camera.Dockerfile -t stereo-camera .
# Run one per view, with the camera device passed in:
#   docker run --device /dev/video0 -p 9101:9101 \
#     -v $PWD/configs/camera-left.toml:/etc/stereo-pipeline/camera.toml:ro stereo-camera
FROM python:3.11-slim AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/stereo-pipeline
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY camera_nodes ./camera_nodes
COPY decoder_node ./decoder_node
RUN /opt/stereo-pipeline/bin/pip install --index-url ${TORCH_INDEX} \
        "torch==2.14.1" "torchvision==0.29.1" \
 && /opt/stereo-pipeline/bin/pip install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PATH=/opt/stereo-pipeline/bin:$PATH
# libGL/glib for opencv-python; the video group for /dev/video*
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --groups video stereo
COPY --from=build /opt/stereo-pipeline /opt/stereo-pipeline
COPY configs/camera-left.toml /etc/stereo-pipeline/camera.toml
USER stereo
EXPOSE 9101
STOPSIGNAL SIGTERM
ENTRYPOINT ["stereo-pipeline", "camera"]
CMD ["--config", "/etc/stereo-pipeline/camera.toml"]
