"""Background grading: a thread that grades stored answers nobody is grading.

It takes its work from the grade queue (coach.grading), whose claims go through the database, so
several workers (threads or processes) never grade the same answer, and a grade whose worker died
is picked up again once its claim goes stale.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from coach.grading import GradeQueue

log = logging.getLogger(__name__)


class GradeWorker:
    def __init__(self, queue: GradeQueue, *, idle_seconds: float = 2.0):
        self.queue = queue
        self.idle_seconds = idle_seconds
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="grade-worker", daemon=True)

    def start(self) -> GradeWorker:
        self.queue.on_waiting(self._wake.set)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def drain(self) -> int:
        """Grade everything pending now; returns how many were graded."""
        graded = 0
        while not self._stop.is_set() and self.queue.grade_next(self.name) is not None:
            graded += 1
        return graded

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain()
            except Exception:  # keep the worker alive; the claim goes stale and is retried
                log.exception("background grading failed")
            self._wake.wait(self.idle_seconds)
            self._wake.clear()
