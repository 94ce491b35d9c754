"""Fuzzing harnesses (hypothesis) for every parser that reads bytes from outside: the wire
header, the bitstream container, the decode path behind it, and the TOML configuration.

``test_fuzz.py`` runs each for a bounded number of examples in the normal test suite;
``python -m tests.fuzz.run`` runs them long, under a memory cap (``docs/fuzzing.md``).
"""
