# The decoder daemon on a CUDA runtime base. Build from the repository root:
#   docker build -f deploy/docker/decoder.Dockerfile -t stereo-decoder .
# Run (needs the NVIDIA container toolkit):
#   docker run --gpus all -p 5555:5555 -p 9100:9100 \
#     -v $PWD/configs/decoder.toml:/etc/stereo-pipeline/decoder.toml:ro stereo-decoder
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu22.04

FROM ${CUDA_IMAGE} AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common gpg-agent \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3.11 -m venv /opt/stereo-pipeline
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY camera_nodes ./camera_nodes
COPY decoder_node ./decoder_node
# torch's CUDA build first, from its own index; then the project with the pinned versions
RUN /opt/stereo-pipeline/bin/pip install --index-url ${TORCH_INDEX} \
        "torch==2.14.1" "torchvision==0.29.1" \
 && /opt/stereo-pipeline/bin/pip install .

FROM ${CUDA_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PATH=/opt/stereo-pipeline/bin:$PATH
RUN apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common gpg-agent \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3.11 libgl1 libglib2.0-0 \
 && apt-get purge -y software-properties-common gpg-agent && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/stereo-pipeline stereo
COPY --from=build /opt/stereo-pipeline /opt/stereo-pipeline
COPY configs/decoder.toml /etc/stereo-pipeline/decoder.toml
USER stereo
WORKDIR /var/lib/stereo-pipeline
# 5555 frames in (PULL), 5556 republish (PUB, when the zmq sink is configured), 9100 /metrics + /healthz
EXPOSE 5555 5556 9100
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD python3.11 -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9100/healthz', timeout=2).status != 200)"
ENTRYPOINT ["stereo-pipeline", "decoder"]
CMD ["--config", "/etc/stereo-pipeline/decoder.toml"]
