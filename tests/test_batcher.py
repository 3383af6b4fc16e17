"""Races asked for at once by several threads of a worker run in one engine loop, and each
request still gets exactly its own race."""

import threading
import time

import numpy as np
import pytest

from optimizers import rollout
from webapp import validation
from webapp.batcher import Batcher
from webapp.controls import SLIDERS
from webapp.race import RACES, race_spec


def _in_threads(batcher, items):
    """Run batcher.run(item) for every item in its own thread; results or errors in order."""
    out = [None] * len(items)

    def work(i):
        try:
            out[i] = batcher.run(items[i])
        except Exception as err:  # noqa: BLE001 - the test looks at it
            out[i] = err

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    return threads, out


def _wait_until(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


class Gate:
    """run_many that holds its first call until released, so the next items pile up."""

    def __init__(self, fail_on=()):
        self.calls, self.release, self.fail_on = [], threading.Event(), set(fail_on)

    def __call__(self, items):
        self.calls.append(list(items))
        if len(self.calls) == 1:
            assert self.release.wait(10)
        return self._results(items)

    def _results(self, items):
        for index, item in enumerate(items):
            if item in self.fail_on:
                raise ValueError(f"bad item {item}")
            yield index, item * 10


def _pile_up(gate, items, max_batch=16):
    """The first item starts a call and is held; the rest queue behind it; then go."""
    batcher = Batcher(gate, max_batch=max_batch)
    first, first_out = _in_threads(batcher, items[:1])
    _wait_until(lambda: gate.calls)
    rest, rest_out = _in_threads(batcher, items[1:])
    _wait_until(lambda: batcher.waiting == len(items) - 1)
    gate.release.set()
    for t in first + rest:
        t.join(10)
    return batcher, first_out + rest_out


def test_items_that_arrive_during_a_call_go_together_in_the_next():
    gate = Gate()
    batcher, out = _pile_up(gate, [1, 2, 3, 4, 5, 3])
    assert out == [10, 20, 30, 40, 50, 30]
    assert gate.calls[0] == [1]
    assert sorted(gate.calls[1]) == [2, 3, 4, 5]  # 3 was asked for twice and computed once
    assert batcher.sizes == {1: 1, 4: 1}


def test_a_batch_is_at_most_max_batch():
    gate = Gate()
    batcher, out = _pile_up(gate, list(range(1, 12)), max_batch=4)
    assert out == [10 * i for i in range(1, 12)]
    assert max(len(c) for c in gate.calls) == 4 and sum(len(c) for c in gate.calls) == 11


def test_a_bad_item_fails_only_its_own_request():
    gate = Gate(fail_on={3})
    _, out = _pile_up(gate, [1, 2, 3, 4])
    assert out[:2] == [10, 20] and out[3] == 40
    assert isinstance(out[2], ValueError)
    with pytest.raises(TypeError):
        Batcher(gate).run([1])  # unhashable: refused in the caller, before it joins a batch


def test_a_thread_returns_when_its_own_result_is_there():
    release = threading.Event()

    def run_many(items):  # the first result at once, the others only when released
        yield 0, items[0] * 10
        assert release.wait(10)
        yield from ((i, item * 10) for i, item in enumerate(items) if i > 0)

    gate = Gate()
    batcher = Batcher(lambda items: gate(items) if len(gate.calls) == 0 else run_many(items))
    first, first_out = _in_threads(batcher, [1])
    _wait_until(lambda: gate.calls)
    rest, rest_out = _in_threads(batcher, [2, 3])
    _wait_until(lambda: batcher.waiting == 2)
    gate.release.set()
    first[0].join(10)
    _wait_until(lambda: rest_out[0] is not None or rest_out[1] is not None)
    assert sum(out is not None for out in rest_out) == 1  # the one yielded first, while the call goes on
    release.set()
    for t in rest:
        t.join(10)
    assert first_out == [10] and sorted(rest_out) == [20, 30]


def _specs(n, seed=0):
    rng = np.random.default_rng(seed)
    surfaces = ["rosenbrock", "multi_minima", "bowl", "rastrigin", "saddle"]
    specs = []
    for i in range(n):
        positions = [rng.uniform(s.low, s.high) for s in SLIDERS.values()]
        specs.append(race_spec(surfaces[i % len(surfaces)], None, None, positions, [], [], i,
                               validation.Problems()))
    return specs


def test_the_apps_races_run_together_are_each_their_own_race():
    specs = _specs(12)
    before = sum(RACES.sizes.values())
    threads, out = _in_threads(RACES, specs)
    for t in threads:
        t.join(60)
    assert sum(RACES.sizes.values()) > before
    for spec, got in zip(specs, out):
        alone = rollout(spec.surface, start=spec.start, steps=spec.steps, settings=spec.settings_dict(),
                        noise=spec.noise, batch_size=spec.batch_size, seed=spec.seed)
        assert got.steps == spec.steps
        np.testing.assert_array_equal(got.paths, alone.paths)
        np.testing.assert_array_equal(got.losses, alone.losses)
        np.testing.assert_array_equal(got.arrived_at, alone.arrived_at)
