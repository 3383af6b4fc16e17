"""Every race a worker process is asked for runs in one shared engine loop.

A step of the engine costs nearly the same for 9 runs as for 90 (NumPy's per-call overhead is
the floor), and the GIL lets one loop run at a time anyway. So each worker keeps one RaceLoop
(continuous batching): a request's race joins it before the next segment (a few milliseconds),
runs alongside the races of the other students, and its request returns as soon as its own race
is done. One student alone waits for nothing; a class moving sliders together shares the cost.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Callable, Hashable

from optimizers import RaceLoop, RolloutResult, rollout

log = logging.getLogger(__name__)


class _Job:
    __slots__ = ("key", "result", "error", "done")

    def __init__(self, key):
        self.key, self.result, self.error, self.done = key, None, None, False


class RaceQueue:
    """`run(key)` returns the RolloutResult of `rollout(**arguments(key))`, computed in the
    worker's shared loop. Requests for equal keys at the same time share one race. A race whose
    arguments are refused, or that breaks the loop, fails only its own requests.

    The thread whose race is in the loop drives it (there is no background thread): while its
    race runs, it also advances everyone else's; when its race is done it returns, and a thread
    still waiting takes over."""

    def __init__(self, arguments: Callable[[Hashable], dict]):
        self._arguments = arguments
        self._loop = RaceLoop()
        self._arriving: list[_Job] = []
        self._in_loop: dict[int, list[_Job]] = {}  # loop handle → the requests waiting for it
        self._handles: dict[Hashable, int] = {}  # key → handle of its race in the loop
        self._driving = False
        self._changed = threading.Condition()  # guards _arriving, _driving and every job
        self.stats: Counter[str] = Counter()  # "races", "segments", "shared_segments" (more than one race)

    @property
    def waiting(self) -> int:
        """Requests whose race has not joined the loop yet."""
        return len(self._arriving)

    def run(self, key: Hashable) -> RolloutResult:
        hash(key)  # an unhashable key fails here, alone
        job = _Job(key)
        with self._changed:
            self._arriving.append(job)
        while not job.done:
            with self._changed:
                while self._driving and not job.done:
                    self._changed.wait()
                if job.done:
                    break
                self._driving = True
            try:
                self._drive(until=job)
            finally:
                with self._changed:
                    self._driving = False
                    self._changed.notify_all()
        if job.error is not None:
            raise job.error
        return job.result

    def _drive(self, until: _Job) -> None:
        """Let arrivals join, then advance the loop a segment, until `until` is done."""
        try:
            while not until.done:
                self._admit()
                if not self._loop.running:
                    break
                self.stats["segments"] += 1
                if self._loop.running > 1:
                    self.stats["shared_segments"] += 1
                for handle, result in self._loop.advance():
                    jobs = self._in_loop.pop(handle)
                    del self._handles[jobs[0].key]
                    self._settle(jobs, result=result)
        except Exception:  # a fault inside the loop: each of its races again, alone, in a fresh loop
            log.exception("the shared race loop failed; its races run again one by one")
            stranded = list(self._in_loop.values())
            self._reset()
            for jobs in stranded:  # so that one faulty race fails only its own requests
                try:
                    self._settle(jobs, result=rollout(**self._arguments(jobs[0].key)))
                except Exception as err:
                    self._settle(jobs, error=err)
        except BaseException:  # interrupted: nobody may wait for ever
            for jobs in self._in_loop.values():
                self._settle(jobs, error=RuntimeError("interrupted"))
            self._reset()
            raise
        finally:
            if not until.done:
                self._settle([until], error=RuntimeError("the race could not be computed"))

    def _reset(self) -> None:
        self._in_loop.clear()
        self._handles.clear()
        self._loop = RaceLoop()

    def _admit(self) -> None:
        with self._changed:
            arriving, self._arriving = self._arriving, []
        for job in arriving:
            handle = self._handles.get(job.key)
            if handle is None:
                try:
                    handle = self._loop.add(**self._arguments(job.key))
                except Exception as err:  # refused arguments: this request only
                    self._settle([job], error=err)
                    continue
                self._handles[job.key] = handle
                self._in_loop[handle] = []
                self.stats["races"] += 1
            self._in_loop[handle].append(job)

    def _settle(self, jobs: list[_Job], result=None, error: BaseException | None = None) -> None:
        with self._changed:
            for job in jobs:
                job.result, job.error, job.done = result, error, True
            self._changed.notify_all()
