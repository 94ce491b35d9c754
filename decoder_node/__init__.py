"""The decoder daemon: receive stereo frames over ZeroMQ, pair, batch, decode, write sinks.

``stereo-pipeline decoder --config configs/decoder.toml`` runs :class:`decoder_node.app.DecoderApp`.
The data path and where each frame can be dropped are described in ``docs/pairing.md``,
``docs/batching.md`` and ``docs/metrics.md``.
"""
