"""Training of the stereo codec: datasets, synthetic stereo pairs and the training loop."""
