"""Data surfaces (surfaces/data.py) and the engine's batches over their examples, checked against
computations written here: least squares by np.linalg.lstsq, a logistic minimum by a Newton
loop of this file, hand-written NumPy losses and derivatives, torch.optim on torch's own losses
(MSELoss, BCEWithLogitsLoss) fed the same batches, and each SGD and mini-batch step traced back
to the examples that made its gradient. The torch tests are skipped where PyTorch is not
installed; the rest need only NumPy."""

import numpy as np
import pytest

from optimizers import OPTIMIZERS, rollout
from optimizers.stochastic import N_SAMPLES, epoch_orders
from surfaces import from_data, get_surface

IDS = list(OPTIMIZERS)
BATCH_KIND = [oid for oid, spec in OPTIMIZERS.items() if spec.gradient == "batch"]


# -- hand-written losses and derivatives (NumPy, no SymPy) -------------------------------------------
def sigma(t):
    """The logistic function, by tanh (no overflow, and not the module's formula)."""
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def hand_loss(model, w, b, x, y):
    """The mean loss at (w, b) over the examples (x, y); w, b may be arrays (broadcast)."""
    w, b = np.asarray(w, dtype=float)[..., None], np.asarray(b, dtype=float)[..., None]
    z = w * x + b
    if model == "linear":
        return np.mean(0.5 * (z - y) ** 2, axis=-1)
    t = -(2 * y - 1) * z  # loss = log(1 + e^t)
    return np.mean(np.maximum(t, 0.0) + np.log1p(np.exp(-np.abs(t))), axis=-1)


def example_gradients(model, w, b, x, y):
    """Each example's gradient at (w, b): (N, 2)."""
    z = w * x + b
    if model == "linear":
        r = z - y
        return np.stack([r * x, r], axis=1)
    s = 2 * y - 1
    q = -s * sigma(-s * z)
    return np.stack([q * x, q], axis=1)


def hand_gradient(model, w, b, x, y):
    return example_gradients(model, w, b, x, y).mean(axis=0)


def hand_hessian(model, w, b, x, y):
    """[[mean c·x², mean c·x], [mean c·x, mean c]], c = 1 (linear) or σ(z)(1 − σ(z)) = σ(z)σ(−z)."""
    c = np.ones_like(x) if model == "linear" else sigma(w * x + b) * sigma(-(w * x + b))
    return np.array([[np.mean(c * x * x), np.mean(c * x)], [np.mean(c * x), np.mean(c)]])


def newton_logistic(x, y, iterations=300):
    """The logistic loss's minimiser by a plain Newton loop from (0, 0), halving a step that
    would raise the loss (this file's own, independent of surfaces.data._newton)."""
    theta = np.zeros(2)
    current = hand_loss("logistic", theta[0], theta[1], x, y)
    for _ in range(iterations):
        g = hand_gradient("logistic", *theta, x, y)
        step = np.linalg.solve(hand_hessian("logistic", *theta, x, y), g)
        for _ in range(60):
            trial = theta - step
            value = hand_loss("logistic", trial[0], trial[1], x, y)
            if value <= current:
                theta, current = trial, value
                break
            step = step / 2
    return theta


# -- datasets ----------------------------------------------------------------------------------------
def random_linear(n=100, seed=11):
    """A seeded regression set, continuous x and y: no two examples alike."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 3.0, n)
    return x, 0.7 * x - 0.4 + 0.3 * rng.standard_normal(n)


def random_logistic(n=200, seed=5):
    """A seeded two-class set whose classes overlap (so the minimum is finite)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.5).astype(float)
    x = rng.normal(np.where(y == 1, 1.0, -0.5), 1.0)
    return x, y


# -- 1, 2: the minimum ---------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["iris", "random"])
def test_linear_minimum_is_the_least_squares_line(which):
    if which == "iris":
        s = get_surface("iris")
        x, y = s.examples
    else:
        x, y = random_linear(n=500, seed=3)
        s = from_data("linear", x, y)
    (slope, intercept), *_ = np.linalg.lstsq(np.stack([x, np.ones_like(x)], axis=1), y, rcond=None)
    np.testing.assert_allclose(s.minima[0], (slope, intercept), rtol=0, atol=1e-8)
    assert np.max(np.abs(hand_gradient("linear", *s.minima[0], x, y))) < 1e-12
    assert np.max(np.abs(np.array(s.grad(*s.minima[0])))) < 1e-12
    assert s.f_min == pytest.approx(hand_loss("linear", *s.minima[0], x, y), rel=1e-13)


@pytest.mark.parametrize("which", ["wine", "random"])
def test_logistic_minimum_is_where_the_hand_gradient_vanishes(which):
    if which == "wine":
        s = get_surface("wine")
        x, y = s.examples
    else:
        x, y = random_logistic()
        s = from_data("logistic", x, y)
    assert np.max(np.abs(hand_gradient("logistic", *s.minima[0], x, y))) < 1e-10
    ours = newton_logistic(x, y)
    assert np.max(np.abs(hand_gradient("logistic", *ours, x, y))) < 1e-12  # the reference itself converged
    np.testing.assert_allclose(s.minima[0], ours, rtol=0, atol=1e-8)
    # and it is a minimum: the Hessian is positive definite, every nearby point is higher
    assert np.all(np.linalg.eigvalsh(hand_hessian("logistic", *ours, x, y)) > 0)
    ring = np.array(s.minima[0]) + 1e-3 * np.stack([np.cos(np.arange(16)), np.sin(np.arange(16))], axis=1)
    assert np.all(hand_loss("logistic", ring[:, 0], ring[:, 1], x, y) > s.f_min)


# -- 3: SymPy's derivatives and the compiled loss equal the hand formulas ----------------------------------
@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_sympy_derivatives_and_compiled_loss_equal_the_hand_formulas(model):
    s = get_surface("iris" if model == "linear" else "wine")
    x, y = s.examples
    rng = np.random.default_rng(2)
    (x0, x1), (y0, y1) = s.domain
    W, B = rng.uniform(x0, x1, 40), rng.uniform(y0, y1, 40)
    W, B = np.append(W, [0.0, 30.0, -30.0]), np.append(B, [0.0, -40.0, 40.0])  # where e^z overflows
    gw, gb = s.grad(W, B)
    H = s.hessian(W, B)
    f = s.f(W, B)
    assert f.shape == gw.shape == W.shape and H.shape == (2, 2, len(W))
    for k in range(len(W)):
        g = hand_gradient(model, W[k], B[k], x, y)
        scale = 1.0 + np.max(np.abs(example_gradients(model, W[k], B[k], x, y)))
        np.testing.assert_allclose([gw[k], gb[k]], g, rtol=1e-11, atol=1e-13 * scale)
        np.testing.assert_allclose(H[:, :, k], hand_hessian(model, W[k], B[k], x, y), rtol=1e-11, atol=1e-300)
        assert f[k] == pytest.approx(hand_loss(model, W[k], B[k], x, y), rel=1e-12)
        assert s.mean_loss(W[k], B[k]) == pytest.approx(f[k], rel=1e-12)
    # a grid broadcasts like the ufuncs it stands for
    X, Y = np.meshgrid(np.linspace(x0, x1, 5), np.linspace(y0, y1, 4))
    np.testing.assert_allclose(s.f(X, Y), hand_loss(model, X, Y, x, y), rtol=1e-12)


def test_a_quadratic_models_loss_and_gradient_come_from_its_exact_expansion():
    """Linear regression's loss is quadratic in (w, b) (SymPy says so), so the engine reads f and
    ∇f from their expansion at the minimum, at any N; they equal the sums over the examples (an
    independent NumPy computation in extended precision) everywhere, and near the minimum, where
    the examples' terms cancel, to the last bits of f − f*."""
    from surfaces.data import is_quadratic_model

    assert is_quadratic_model("linear") and not is_quadratic_model("logistic")
    assert get_surface("wine").expansion.shape == (0,)
    for sid in ("iris", "sparse"):
        s = get_surface(sid)
        x, y = s.examples
        fns = s.functions
        assert s.expansion.shape == (8,)
        (x0, x1), (y0, y1) = s.domain
        rng = np.random.default_rng(3)
        points = np.column_stack([rng.uniform(x0, x1, 30), rng.uniform(y0, y1, 30)])
        points = np.vstack([points, [[-40.0, 60.0], [1e3, -1e3]]])
        xl, yl = x.astype(np.longdouble), y.astype(np.longdouble)
        for wv, bv in points:
            residual = wv * xl + bv - yl
            exact_f = float(np.mean(residual**2 / 2))
            exact_g = [float(np.mean(residual * xl)), float(np.mean(residual))]
            f, gw, gb = fns.loss_and_gradient(wv, bv, s.examples, s.expansion)
            assert f == pytest.approx(exact_f, rel=1e-13)
            assert fns.mean_loss(wv, bv, s.examples, s.expansion) == f
            scale = float(np.mean(np.abs(residual) * (1 + np.abs(xl))))
            np.testing.assert_allclose([gw, gb], exact_g, rtol=1e-12, atol=1e-14 * scale)
            full = fns.batch_gradient(wv, bv, s.examples, s.expansion, np.zeros((1, s.n_examples), np.int32),
                                      s.n_examples, 0)
            assert full == (gw, gb)
        # a step of 1e-7 from the minimum: f − f* is ½δᵀHδ, about 1e-14, exactly as the expansion says
        w0, b0 = s.minima[0]
        delta = np.array([1e-7, -0.5e-7])
        f = fns.mean_loss(w0 + delta[0], b0 + delta[1], s.examples, s.expansion)
        rise = 0.5 * delta @ hand_hessian("linear", w0, b0, x, y) @ delta
        assert f - s.f_min == pytest.approx(rise, rel=1e-3)


def test_full_batch_runs_get_the_loss_and_gradient_of_one_pass_exactly_as_separate_ones():
    """On a surface summed over its examples (wine), a full-batch run takes the gradient handed
    over by the pass that computed its loss: bit for bit the gradient `batch_gradient` computes
    at the point it queried, and the loss bit for bit the surface's f there. Nesterov, which
    queries ahead of where it stands, gets its gradient at the look-ahead point."""
    s = get_surface("wine")
    fns = s.functions
    r = rollout(s, steps=40, batch_size=16, seed=2, record_states=True)
    orders = np.ascontiguousarray(epoch_orders(2, 40, s.n_examples))
    assert np.array_equal(r.losses, s.f(r.paths[:, :, 0].T, r.paths[:, :, 1].T).T)
    for i, oid in enumerate(r.names):
        spec = OPTIMIZERS[oid]
        size = {"full": s.n_examples, "sample": 1, "batch": 16}[spec.gradient]
        grads = r.states["grad"][i]
        for t in range(40):
            w_, b_ = r.paths[i, t]
            if oid == "nag":  # the look-ahead point θ − γ·η·b, b the momentum buffer before the step
                before = r.states["state"][i, t - 1, 0:2] if t else np.zeros(2)
                w_, b_ = r.paths[i, t] - r.settings[oid]["gamma"] * r.settings[oid]["lr"] * before
            expected = fns.batch_gradient(w_, b_, s.examples, s.expansion, orders, size, t)
            assert tuple(grads[t]) == expected, f"{oid} step {t}"


# -- 4: torch.optim on torch's own losses, fed the same batches ------------------------------------------
def torch_losses(torch, model):
    if model == "linear":
        mse = torch.nn.MSELoss()
        return lambda z, t: 0.5 * mse(z, t)
    return torch.nn.BCEWithLogitsLoss()


def batch_of(step, size, orders):
    """The example indices of `step` (0-based) with `size` examples (all N in stored order when
    size ≥ N): consecutive slices of the epoch's shuffle, the last one shorter."""
    n = orders.shape[1]
    if size >= n:
        return np.arange(n)
    per_epoch = -(-n // size)
    epoch, slot = divmod(step, per_epoch)
    return orders[epoch, slot * size : min((slot + 1) * size, n)]


def torch_path(surface, oid, hp, steps, size, seed):
    """`oid` by torch.optim from the surface's start, each step's gradient by autograd on torch's
    loss over the step's examples (float64). For Nesterov torch's parameter is the look-ahead
    point θ − γv."""
    import torch

    from optimizers.torch_reference import torch_optimizer

    x, y = (torch.tensor(row, dtype=torch.float64) for row in surface.examples)
    loss = torch_losses(torch, surface.model)
    n = surface.n_examples
    orders = epoch_orders(seed, -(-steps // -(-n // min(size, n))), n)
    p = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(oid, p, hp)
    path = [p.detach().numpy().copy()]
    for t in range(steps):
        idx = torch.from_numpy(np.asarray(batch_of(t, size, orders), dtype=np.int64))
        opt.zero_grad()
        loss(p[0] * x[idx] + p[1], y[idx]).backward()
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


@pytest.fixture
def torch64():
    torch = pytest.importorskip("torch")
    previous = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)  # torch's step counts and scalars, as the engine's
    torch.set_num_threads(1)  # tensors of a few hundred numbers: threads only wait on each other
    yield torch
    torch.set_default_dtype(previous[0])
    torch.set_num_threads(previous[1])


SEED = 4


def race_settings(lr):
    return {oid: {"lr": lr if oid != "adadelta" else 1.0} for oid in IDS}


@pytest.mark.parametrize("sid, lr", [("iris", 0.02), ("wine", 0.5)])
def test_gd_equals_torch_sgd_on_the_full_batch_loss(torch64, sid, lr):
    s = get_surface(sid)
    r = rollout(s, steps=200, settings={"gd": {"lr": lr}}, optimizers=["gd"])
    assert r.diverged_at[0] == -1
    theirs = torch_path(s, "gd", {"lr": lr}, 200, s.n_examples, SEED)
    np.testing.assert_allclose(r.paths[0], theirs, rtol=1e-9, atol=1e-12)
    assert np.abs(r.paths[0, -1] - r.paths[0, 0]).max() > 0.1  # it went somewhere


@pytest.mark.parametrize("batch", ["N", 16])
@pytest.mark.parametrize("sid, lr", [("iris", 0.02), ("wine", 0.5)])
def test_every_optimizer_equals_torch_fed_the_same_batches(torch64, sid, lr, batch):
    """B = N: every optimizer but SGD sees the whole batch; B = 16 divides neither N (150, 130),
    so each epoch ends on a short batch. SGD meets one example of the shuffle per step."""
    s = get_surface(sid)
    size = s.n_examples if batch == "N" else batch
    steps = 200
    # Full-batch RMSprop on iris at 0.002 ≤ η ≤ 0.03 amplifies rounding: once on the valley
    # floor it divides a small gradient, summed from large terms that cancel, by its own scale,
    # so torch's summation order (or a one-ulp change of the start) moves the path by 1e-2
    # within 200 steps (ours equals a plain sequential sum of the examples bit for bit). From
    # η = 0.04 it settles into a steady two-step bounce about the minimum that does not.
    settings = {**race_settings(lr), "rmsprop": {"lr": 0.05 if sid == "iris" else lr}}
    r = rollout(s, steps=steps, settings=settings, batch_size=size, seed=SEED, record_states=True)
    assert list(r.diverged_at) == [-1] * len(IDS)
    for i, oid in enumerate(r.names):
        ours = r.paths[i]
        if oid == "nag":  # torch keeps the look-ahead point θ − γv, v = η·b (b: the rule's state)
            ours = ours.copy()
            ours[1:] -= r.settings[oid]["gamma"] * (r.settings[oid]["lr"] * r.states["state"][i, :, 0:2])
        kind = OPTIMIZERS[oid].gradient
        own_size = {"full": s.n_examples, "sample": 1, "batch": size}[kind]
        theirs = torch_path(s, oid, r.settings[oid], steps, own_size, SEED)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, err_msg=f"{sid} B={size} {oid}")


# -- 5: which examples each step used ----------------------------------------------------------------------
def test_each_sgd_step_is_one_example_and_each_epoch_uses_every_example_once():
    x, y = random_linear(n=100)
    s = from_data("linear", x, y)
    seed, lr, steps = 3, 0.05, 250  # two epochs and a half
    r = rollout(s, steps=steps, settings={"sgd": {"lr": lr}}, optimizers=["sgd"], seed=seed, record_states=True)
    path, grads = r.paths[0], r.states["grad"][0]
    used = []
    for t in range(steps):
        candidates = example_gradients("linear", *path[t], x, y)  # (N, 2): what each example would give
        close = np.all(np.abs(candidates - grads[t]) <= 1e-12 * (1 + np.abs(candidates)), axis=1)
        assert close.sum() == 1, f"step {t}: {close.sum()} examples give the recorded gradient"
        used.append(int(np.flatnonzero(close)[0]))
        np.testing.assert_array_equal(path[t + 1], path[t] - lr * grads[t])  # the gradient recorded is the one used
    used = np.array(used)
    orders = epoch_orders(seed, 3, 100)
    for e in range(2):
        epoch = used[100 * e : 100 * (e + 1)]
        np.testing.assert_array_equal(np.sort(epoch), np.arange(100))
        np.testing.assert_array_equal(epoch, orders[e])
    np.testing.assert_array_equal(used[200:], orders[2, :50])
    assert not np.array_equal(orders[0], orders[1])  # each epoch reshuffles


def test_each_minibatch_step_averages_exactly_its_slice_of_the_epochs_shuffle():
    x, y = random_linear(n=100)
    s = from_data("linear", x, y)
    seed, lr, B = 8, 0.05, 16  # 100 = 6 × 16 + 4: seven batches an epoch, the last of 4
    steps = 7 * 2 + 3
    r = rollout(s, steps=steps, settings={"minibatch_sgd": {"lr": lr}}, optimizers=["minibatch_sgd"],
                batch_size=B, seed=seed, record_states=True)
    path, grads = r.paths[0], r.states["grad"][0]
    orders = epoch_orders(seed, 3, 100)
    sizes, covered = [], {0: [], 1: [], 2: []}
    for t in range(steps):
        epoch, slot = divmod(t, 7)
        idx = orders[epoch, slot * B : min(slot * B + B, 100)]
        sizes.append(len(idx))
        covered[epoch].extend(idx.tolist())
        each = example_gradients("linear", *path[t], x, y)
        np.testing.assert_allclose(grads[t], each[idx].mean(axis=0), rtol=1e-12, atol=1e-14)
        # exactly that slice: one example fewer, or the next one added, gives another gradient
        assert np.abs(grads[t] - each[idx[:-1]].mean(axis=0)).max() > 1e-9
        following = orders[epoch, min(slot * B + B, 99)] if slot < 6 else orders[epoch + 1, 0]
        assert np.abs(grads[t] - each[np.append(idx, following)].mean(axis=0)).max() > 1e-9
        np.testing.assert_array_equal(path[t + 1], path[t] - lr * grads[t])
    assert sizes[:7] == [16] * 6 + [4] and sizes[7:14] == sizes[:7]
    for e in (0, 1):  # a complete epoch's slices partition the examples
        assert sorted(covered[e]) == list(range(100))
    assert len(set(covered[2])) == 3 * B


# -- 6: common random numbers ---------------------------------------------------------------------------
def test_the_batch_optimizers_meet_the_same_batch_at_the_same_step():
    x, y = random_linear(n=100)
    s = from_data("linear", x, y)
    seed, B, steps = 6, 16, 40
    settings = {**race_settings(0.05), "momentum": {"lr": 0.05, "gamma": 0.0}, "nag": {"lr": 0.05, "gamma": 0.0}}
    r = rollout(s, steps=steps, settings=settings, batch_size=B, seed=seed, record_states=True)
    row = {oid: i for i, oid in enumerate(r.names)}
    # momentum and Nesterov with γ = 0 are mini-batch SGD: the same batches give the same bits
    for oid in ("momentum", "nag"):
        np.testing.assert_array_equal(r.paths[row[oid]], r.paths[row["minibatch_sgd"]])
        np.testing.assert_array_equal(r.states["grad"][row[oid]], r.states["grad"][row["minibatch_sgd"]])
    # from the same start, every batch optimizer's first gradient is the same batch's
    first = r.states["grad"][[row[oid] for oid in BATCH_KIND], 0]
    assert np.all(first == first[0])
    # and at every step, each one's gradient is the mean over that step's slice, at its own point
    orders = epoch_orders(seed, 6, 100)
    for oid in BATCH_KIND:
        i = row[oid]
        for t in range(steps):
            idx = batch_of(t, B, orders)
            mean = example_gradients("linear", *r.paths[i, t], x, y)[idx].mean(axis=0)
            np.testing.assert_allclose(r.states["grad"][i, t], mean, rtol=1e-11, atol=1e-14, err_msg=f"{oid} step {t}")
    # runs never interact: an optimizer raced alone takes the same path, bit for bit
    alone = rollout(s, steps=steps, settings=settings, optimizers=["adam"], batch_size=B, seed=seed)
    np.testing.assert_array_equal(alone.paths[0], r.paths[row["adam"]])
    other_seed = rollout(s, steps=steps, settings=settings, optimizers=["adam"], batch_size=B, seed=seed + 1)
    assert not np.array_equal(other_seed.paths[0], alone.paths[0])


# -- 7: the clock in examples ---------------------------------------------------------------------------------
def steps_paid_for(size, n, budget):
    """The steps a run whose step takes `size` examples (N or more: all) has paid for after each
    of 0 … budget examples: counted by walking the examples one at a time."""
    size = min(size, n)
    ends = {min(k * size, n) for k in range(1, -(-n // size) + 1)}  # where each batch of an epoch ends
    taken, out = 0, [0]
    for j in range(1, budget + 1):
        if (j - 1) % n + 1 in ends:
            taken += 1
        out.append(taken)
    return np.array(out)


def assert_clock_in_examples(surface, budget, B, settings, noise=0.0, seed=0):
    n = surface.n_examples if hasattr(surface, "n_examples") else N_SAMPLES
    r = rollout(surface, steps=budget, settings=settings, batch_size=B, noise=noise, seed=seed, clock="examples")
    assert r.clock == "examples" and r.examples_per_epoch == n
    assert r.paths.shape == (len(IDS), budget + 1, 2) and r.steps_taken.shape == (len(IDS), budget + 1)
    by_steps = rollout(surface, steps=int(r.steps_taken.max()), settings=settings, batch_size=B, noise=noise, seed=seed)
    for i, oid in enumerate(r.names):
        size = {"full": n, "sample": 1, "batch": B}[OPTIMIZERS[oid].gradient]
        np.testing.assert_array_equal(r.steps_taken[i], steps_paid_for(size, n, budget), err_msg=oid)
        taken = r.steps_taken[i]
        np.testing.assert_array_equal(r.paths[i], by_steps.paths[i, taken], err_msg=oid)
        np.testing.assert_array_equal(r.losses[i], by_steps.losses[i, taken], err_msg=oid)
    return r


def test_clock_in_examples_on_iris():
    s = get_surface("iris")
    budget, B = 3000, 16  # 20 epochs of 150; B = 16 makes 10 batches an epoch, the last of 6
    r = assert_clock_in_examples(s, budget, B, race_settings(0.02), seed=2)
    row = {oid: i for i, oid in enumerate(r.names)}
    assert r.steps_taken[row["gd"], -1] == 20
    assert r.steps_taken[row["sgd"], -1] == 3000
    for oid in BATCH_KIND:
        assert r.steps_taken[row[oid], -1] == 20 * 10
    assert list(r.diverged_at) == [-1] * len(IDS)
    # GD holds still between multiples of 150 examples and moves exactly at them
    gd = r.paths[row["gd"]]
    moves = np.flatnonzero(np.any(gd[1:] != gd[:-1], axis=1)) + 1
    np.testing.assert_array_equal(moves, np.arange(150, budget + 1, 150))
    # mini-batch SGD moves after each 16 examples, and after the epoch's last 6
    mb = r.paths[row["minibatch_sgd"]]
    moves = np.flatnonzero(np.any(mb[1:] != mb[:-1], axis=1)) + 1
    within = np.append(np.arange(16, 150, 16), 150)
    np.testing.assert_array_equal(moves, (within[None, :] + 150 * np.arange(20)[:, None]).ravel())
    np.testing.assert_array_equal(r.epochs([0, 150, 3000]), [0.0, 1.0, 20.0])


def test_clock_in_examples_on_a_tilted_surface():
    s = get_surface("rosenbrock")
    budget, B = 1024, 16  # four epochs of the 256 tilts
    r = assert_clock_in_examples(s, budget, B, race_settings(1e-3), noise=1.0, seed=5)
    assert r.examples_per_epoch == N_SAMPLES == 256
    row = {oid: i for i, oid in enumerate(r.names)}
    assert r.steps_taken[row["gd"], -1] == 4
    assert r.steps_taken[row["sgd"], -1] == 1024
    assert r.steps_taken[row["adam"], -1] == 64


# -- 8: bad arguments ------------------------------------------------------------------------------------
def test_a_data_surface_refuses_noise_and_batches_beyond_its_examples():
    s = get_surface("iris")
    with pytest.raises(ValueError, match="data surface.*noise must be 0"):
        rollout(s, steps=5, noise=0.5)
    with pytest.raises(ValueError, match="batch_size must be between 1 and 150, not 151"):
        rollout(s, steps=5, batch_size=151)
    rollout(s, steps=5, batch_size=150)  # the whole set is a batch


@pytest.mark.parametrize("model, x, y, message", [
    ("linear", [1, 2, 3], [1, 2], "x has 3 values and y 2: they must pair up"),
    ("linear", [1, np.nan, 3], [1, 2, 3], "finite numbers"),
    ("linear", [1, 2, 3], [1, np.inf, 3], "finite numbers"),
    ("linear", [2, 2, 2], [1, 2, 3], "x is the same in every example"),
    ("linear", [1], [1], "needs 2 to 10000 examples, not 1"),
    ("linear", [1, "a"], [1, 2], "sequences of numbers"),
    ("quadratic", [1, 2], [1, 2], "unknown model 'quadratic'"),
    ("logistic", [1, 2, 3, 4], [0, 1, 2, 1], "labels y that are 0 or 1"),
    ("logistic", [1, 2, 3, 4], [0, 1, 0.5, 1], "labels y that are 0 or 1"),
    ("logistic", [1, 2, 3, 4], [1, 1, 1, 1], "every label is 1"),
    ("logistic", [1, 2, 3, 4], [0, 0, 1, 1], "x separates the two classes"),
    ("logistic", [1, 2, 3, 4], [1, 1, 0, 0], "x separates the two classes"),
])
def test_bad_examples_raise_clear_value_errors(model, x, y, message):
    with pytest.raises(ValueError, match=message):
        from_data(model, x, y)


def test_classes_that_only_touch_have_no_minimum_either():
    """One 0 and one 1 share x = 1, the rest are separated by it: the loss falls towards
    2·log 2 / 4 as w → ∞ along b = −w, so there is no minimum to report."""
    with pytest.raises(ValueError, match="separates the two classes"):
        from_data("logistic", [0, 1, 1, 2], [0, 0, 1, 1])


def test_live_numbers_on_the_clock_in_examples_show_each_optimizers_own_last_update():
    """Row j is after j examples: GD (150 per step) shows its 2nd update at 300 examples, SGD its
    300th, and the step each shows is exactly the move of that update."""
    from optimizers.live import live_numbers

    s = get_surface("iris")
    r = rollout(s, steps=450, clock="examples", optimizers=["gd", "sgd", "minibatch_sgd"], batch_size=16,
                settings={o: {"lr": 0.05} for o in ("gd", "sgd", "minibatch_sgd")}, record_states=True)
    by_step = rollout(s, steps=300, optimizers=["gd", "sgd", "minibatch_sgd"], batch_size=16,
                      settings={o: {"lr": 0.05} for o in ("gd", "sgd", "minibatch_sgd")})
    rows = {row["id"]: row for row in live_numbers(r, 300)["rows"]}
    assert [rows[o]["update"] for o in ("gd", "sgd", "minibatch_sgd")] == [2, 300, 20]
    for i, oid in enumerate(("gd", "sgd", "minibatch_sgd")):
        k = rows[oid]["update"]
        assert rows[oid]["step"] == pytest.approx(list(by_step.paths[i, k] - by_step.paths[i, k - 1]), abs=1e-15)
