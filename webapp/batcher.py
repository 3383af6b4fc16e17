"""Work asked for at the same time by several requests of one worker process, done in one call.

The engine's step costs about the same for 9 runs as for 90 (NumPy's per-call overhead is the
floor), and the GIL lets one engine loop run at a time anyway. So while one loop runs, the races
that arrive meanwhile queue up, and the next loop runs all of them: when a class moves sliders
together, each race costs a fraction of what it would alone, and a lone race waits for nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Callable, Generic, Hashable, Iterable, TypeVar

Item = TypeVar("Item", bound=Hashable)
Result = TypeVar("Result")


class _Job:
    __slots__ = ("item", "result", "error", "done")

    def __init__(self, item):
        self.item, self.result, self.error, self.done = item, None, None, False


class Batcher(Generic[Item, Result]):
    """`run(item)` returns the result for its own item, computed in one call of `run_many`
    together with the items other threads asked for meanwhile (at most `max_batch` per call;
    equal items once). `run_many(items)` yields (index into items, result) in any order, and a
    thread returns as soon as its own result is there. If a call fails, its items that have no
    result yet are retried one by one, so one bad item fails only its own request."""

    def __init__(self, run_many: Callable[[list], Iterable[tuple[int, Result]]], max_batch: int = 16):
        self._run_many = run_many
        self._max_batch = max_batch
        self._queue: list[_Job] = []
        self._busy = False  # a thread is in run_many
        self._changed = threading.Condition()  # guards the queue, _busy and every job
        self.sizes: Counter[int] = Counter()  # calls of run_many by their number of items

    @property
    def waiting(self) -> int:
        """How many items wait for the next call."""
        return len(self._queue)

    def run(self, item: Item) -> Result:
        hash(item)  # an unhashable item fails here, alone, not in a batch
        job = _Job(item)
        with self._changed:
            self._queue.append(job)
        while True:
            with self._changed:
                while self._busy and not job.done:
                    self._changed.wait()
                if job.done:
                    break
                self._busy = True  # our turn to run the queue (our job is still in it)
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                self._finish(batch)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
        if job.error is not None:
            raise job.error
        return job.result

    def _finish(self, batch: list[_Job]) -> None:
        items = list(dict.fromkeys(job.item for job in batch))
        jobs: dict = {}
        for job in batch:
            jobs.setdefault(job.item, []).append(job)
        self.sizes[len(items)] += 1
        try:
            self._deliver(items, jobs)
        except Exception as err:
            if len(items) == 1:
                self._settle(jobs[items[0]], error=err)
            else:  # find the bad one: each item still without a result, alone
                for item in [item for item in items if not jobs[item][0].done]:
                    try:
                        self._deliver([item], jobs)
                    except Exception as own:
                        self._settle(jobs[item], error=own)
        finally:  # whatever happened (even an interrupt), no job may stay waiting
            self._settle([job for job in batch if not job.done], error=RuntimeError("interrupted before it was computed"))

    def _deliver(self, items: list, jobs: dict) -> None:
        for index, result in self._run_many(items):
            self._settle(jobs[items[index]], result=result)

    def _settle(self, jobs: list[_Job], result=None, error: Exception | None = None) -> None:
        with self._changed:
            for job in jobs:
                job.result, job.error, job.done = result, error, True
            self._changed.notify_all()
