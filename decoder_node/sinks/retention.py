"""Keep a sink's output folder bounded: at most ``max_files`` files, none older than ``max_age_s``.

The sink tells :class:`Retention` of every file it writes; the oldest files go first (by the
time they were written; files found in the folder at start-up by their modification time, so
a restart neither forgets nor loses track of earlier output). Deleting happens as the sink
writes, on the sink's thread: an idle decoder deletes nothing until its next write. Each
deleted file is counted in ``stereo_decoder_sink_files_deleted_total{reason}``.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from prometheus_client import Counter

from decoder_node.metrics import metric_name

log = logging.getLogger(__name__)

REASONS = ("max_files", "max_age")


def files_deleted_counter(registry=None) -> Counter:
    """The counter of files deleted by retention, one series per reason (all at 0 at first)."""
    counter = Counter(
        metric_name("sink_files_deleted_total"),
        "Sink output files deleted by retention (max_files or max_age_s).",
        ("reason",),
        registry=registry,
    )
    for reason in REASONS:
        counter.labels(reason)
    return counter


class Retention:
    """Tracks a folder's files in the order they were written and deletes the oldest.

    ``max_files`` 0 and ``max_age_s`` 0 keep everything (and track nothing). ``clock`` gives
    wall-clock seconds (file modification times are wall-clock).
    """

    def __init__(
        self, max_files: int, max_age_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_files, self.max_age_s, self._clock = max_files, max_age_s, clock
        self._files: OrderedDict[Path, float] = OrderedDict()
        self.deleted = files_deleted_counter()

    @property
    def enabled(self) -> bool:
        """Whether any limit is set."""
        return self.max_files > 0 or self.max_age_s > 0

    def scan(self, folder: Path, pattern: str = "*.png") -> None:
        """Track the files already under ``folder`` (oldest first), then apply the limits."""
        if not self.enabled:
            return
        found = []
        for path in folder.rglob(pattern):
            try:
                found.append((path.stat().st_mtime, path))
            except OSError:  # removed meanwhile
                continue
        for mtime, path in sorted(found):
            self._files[path] = mtime
        self._enforce()

    def added(self, path: Path) -> None:
        """Record that ``path`` was (re)written now, then delete what the limits exclude."""
        if not self.enabled:
            return
        self._files.pop(path, None)  # rewritten: it is now the newest
        self._files[path] = self._clock()
        self._enforce()

    def __len__(self) -> int:
        return len(self._files)

    def _enforce(self) -> None:
        if self.max_age_s > 0:  # first, so an expired file counts as expired
            cutoff = self._clock() - self.max_age_s
            while self._files and next(iter(self._files.values())) < cutoff:
                self._delete_oldest("max_age")
        while self.max_files > 0 and len(self._files) > self.max_files:
            self._delete_oldest("max_files")

    def _delete_oldest(self, reason: str) -> None:
        path, _ = self._files.popitem(last=False)
        try:
            path.unlink()
        except FileNotFoundError:  # someone else removed it: nothing deleted here
            return
        except OSError as e:
            log.warning("retention could not delete %s: %s", path, e)
            return
        self.deleted.labels(reason).inc()
