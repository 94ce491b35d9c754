"""The training loop: the joint DSIN loss, the modes that choose which weights move, and the
resumable trainer (:class:`~pipeline.training.loop.trainer.Trainer`)."""
