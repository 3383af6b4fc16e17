"""Requests race in threads at once (the compiled loop releases the GIL): each gets exactly its
own race, bit for bit what `rollout` gives alone."""

import threading

import numpy as np

from optimizers import rollout
from webapp.controls import SLIDERS
from webapp.race import _race, race_result
from webapp.state import parse


def test_the_apps_races_from_many_threads_are_each_their_own_race():
    rng = np.random.default_rng(0)
    surfaces = ["rosenbrock", "multi_minima", "bowl", "rastrigin", "saddle", "beale"]
    specs = []
    for i in range(24):
        positions = {sid: rng.uniform(s.low, s.high) for sid, s in SLIDERS.items()}
        specs.append(parse({"surface": surfaces[i % len(surfaces)], **positions, "seed": i})[0].race_key())
    specs += specs[:6]  # the same race asked for twice at once
    _race.cache_clear()
    out = [None] * len(specs)

    def work(i):
        out[i] = race_result(specs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(specs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for spec, got in zip(specs, out):
        alone = rollout(surface=spec.surface, start=spec.start, steps=spec.steps, settings=spec.settings_dict(),
                        noise=spec.noise, batch_size=spec.batch_size, seed=spec.seed)
        for field in ("paths", "losses", "diverged_at", "arrived_at", "settled_at"):
            np.testing.assert_array_equal(getattr(got, field), getattr(alone, field), err_msg=field)
