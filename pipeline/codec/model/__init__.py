"""The networks (torch): ``dsin.py`` (the learned codec), ``layers.py`` (its transforms),
``integer_hyper.py`` (the exact hyper-synthesis), ``si_finder.py``, ``si_net.py`` and
``si_standard.py`` (side information), ``fusion.py`` (the one side-information path),
``encoder.py`` (the learned encoder), ``registry.py`` (architectures, weights payloads),
``tensors.py`` (numpy images to tensors and back)."""
