"""The application layer: the ``stereo-pipeline`` command, the demo and the shard tool.

It sits above both nodes and may import ``pipeline``, ``camera_nodes`` and ``decoder_node``;
nothing below imports it (``tests/test_layers.py``). Each command's module is imported only when
the command runs, so a camera host never loads torch.
"""
