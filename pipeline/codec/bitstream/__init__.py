"""The container format (``docs/bitstream.md``): ``container.py`` (header, strings, CRC),
``limits.py`` (the largest image a decoder accepts), ``errors.py`` (every typed codec error)."""
