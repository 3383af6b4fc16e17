"""A worker's requests share one engine loop: races join it while it runs, each request gets
exactly its own race (bit for bit what `rollout` gives), and no request waits for a longer race
or fails because of another's bad arguments."""

import copy
import threading
import time

import numpy as np
import pytest

from optimizers import rollout
from surfaces import get_surface
from tests.checks import wait_until
from webapp import validation
from webapp.controls import SLIDERS
from webapp.race import RACES, race_spec
from webapp.race_queue import RaceQueue

RACES_BY_NAME = {
    "long": dict(surface=get_surface("multi_minima"), steps=3000, noise=0.5, seed=1),
    "short": dict(surface=get_surface("rosenbrock"), steps=60, settings={"adam": {"lr": 0.05}}),
    "noisy": dict(surface=get_surface("beale"), start=(1.0, 1.0), steps=300, noise=2.0, batch_size=1, seed=7),
    "bowl": dict(surface=get_surface("bowl"), steps=200, settings={"gd": {"lr": 1.5}}),
    "bad": dict(surface=get_surface("bowl"), steps=0),
}


def _in_threads(queue, keys):
    """queue.run(key) for every key in its own thread; (threads, results or errors, finish times)."""
    out, finished = [None] * len(keys), [None] * len(keys)

    def work(i):
        try:
            out[i] = queue.run(keys[i])
        except Exception as err:  # noqa: BLE001 - the test looks at it
            out[i] = err
        finished[i] = time.perf_counter()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    return threads, out, finished


def _same_race(got, arguments):
    alone = rollout(**arguments)
    assert got.steps == alone.steps and got.names == alone.names
    np.testing.assert_array_equal(got.paths, alone.paths)
    np.testing.assert_array_equal(got.losses, alone.losses)
    np.testing.assert_array_equal(got.diverged_at, alone.diverged_at)
    np.testing.assert_array_equal(got.arrived_at, alone.arrived_at)


def test_races_join_a_running_loop_and_leave_it_when_done():
    started = threading.Event()  # the long race is being set up: the others arrive meanwhile

    def arguments(key):
        if key == "long":
            started.set()
            assert go.wait(20)
        return RACES_BY_NAME[key]

    go = threading.Event()
    queue = RaceQueue(arguments)
    long_thread, long_out, long_done = _in_threads(queue, ["long"])
    assert started.wait(20)
    keys = ["noisy", "short", "bowl", "noisy"]
    threads, out, done = _in_threads(queue, keys)
    wait_until(lambda: queue.waiting == len(keys), 20, "the others to arrive", 0.001)
    go.set()
    for t in threads + long_thread:
        t.join(60)
    assert queue.stats["races"] == 4  # "noisy" asked for twice at once: one race
    assert queue.stats["shared_segments"] >= 1  # the others ran alongside the long race
    assert max(done) < long_done[0]  # and none of them waited for it to finish
    for key, got in zip(keys, out):
        _same_race(got, RACES_BY_NAME[key])
    _same_race(long_out[0], RACES_BY_NAME["long"])


def test_refused_arguments_fail_only_their_own_request():
    queue = RaceQueue(RACES_BY_NAME.__getitem__)
    threads, out, _ = _in_threads(queue, ["bowl", "bad", "short"])
    for t in threads:
        t.join(60)
    assert isinstance(out[1], ValueError) and "steps" in str(out[1])
    _same_race(out[0], RACES_BY_NAME["bowl"])
    _same_race(out[2], RACES_BY_NAME["short"])
    with pytest.raises(TypeError):
        queue.run(["unhashable"])
    with pytest.raises(KeyError):  # the arguments could not even be made
        queue.run("unknown")
    _same_race(queue.run("short"), RACES_BY_NAME["short"])  # and the queue still works


def test_a_race_that_breaks_the_loop_fails_only_its_own_request():
    def broken_gradient(x, y):
        raise FloatingPointError("boom")

    faulty = copy.copy(get_surface("bowl"))
    object.__setattr__(faulty, "scalar_grad", broken_gradient)
    started, go = threading.Event(), threading.Event()

    def arguments(key):
        if key == "faulty":
            return dict(surface=faulty, steps=100)
        if key == "long":  # set up first, while the others arrive: then all share the loop
            started.set()
            assert go.wait(20)
        return RACES_BY_NAME[key]

    queue = RaceQueue(arguments)
    first, first_out, _ = _in_threads(queue, ["long"])
    assert started.wait(20)
    rest, rest_out, _ = _in_threads(queue, ["faulty", "short"])
    wait_until(lambda: queue.waiting == 2, 20, "the others to arrive", 0.001)
    go.set()
    for t in first + rest:
        t.join(60)
    assert isinstance(rest_out[0], FloatingPointError)
    _same_race(rest_out[1], RACES_BY_NAME["short"])
    _same_race(first_out[0], RACES_BY_NAME["long"])
    _same_race(queue.run("bowl"), RACES_BY_NAME["bowl"])  # and the next loop is fresh


def test_the_apps_races_from_many_threads_are_each_their_own_race():
    rng = np.random.default_rng(0)
    surfaces = ["rosenbrock", "multi_minima", "bowl", "rastrigin", "saddle"]
    specs = []
    for i in range(12):
        positions = [rng.uniform(s.low, s.high) for s in SLIDERS.values()]
        specs.append(race_spec(surfaces[i % len(surfaces)], None, None, positions, [], [], i, validation.Problems()))
    threads, out, _ = _in_threads(RACES, specs)
    for t in threads:
        t.join(60)
    for spec, got in zip(specs, out):
        _same_race(got, dict(surface=spec.surface, start=spec.start, steps=spec.steps, settings=spec.settings_dict(),
                             noise=spec.noise, batch_size=spec.batch_size, seed=spec.seed))
