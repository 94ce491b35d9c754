"""The decoder, as its stages: ``read.py`` (1, ``entropy_decode``), ``synthesis.py`` (2),
``side_information.py`` (3 and 4, ``si_finder`` and ``si_net``); each family's part of them in
``latents.py`` (learned) and ``pixels.py`` (standard); ``decoder.py`` (:class:`StereoDecoder`
runs them), ``model_set.py`` (the weights sets it holds), ``device.py`` (device, precision,
batch runs)."""
