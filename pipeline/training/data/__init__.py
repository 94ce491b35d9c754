"""The training data feed: datasets of images and stereo pairs, stereo pairs rendered from single
images, the endless batch stream the trainer reads, and packing images for a remote machine."""
