"""The opt-in extras of SPEC §1 (AMSGrad, AdamW, NAdam, RAdam): worked by hand on the bowl, equal
to their rules stepped one update at a time, equal to an independent NumPy transcription of
torch.optim's algorithms, named in the live numbers, and off in the default race.

(tests/test_torch_equality.py checks them against torch.optim itself where torch is installed.)
"""

import json
import math

import numpy as np
import pytest

from optimizers import ALL_OPTIMIZERS, EXTRAS, HYPERPARAMETERS, OPTIMIZERS, rollout, sweep
from optimizers.live import live_numbers
from tests.test_engine import reference_path
from surfaces import get_surface

sqrt = math.sqrt
EXTRA_IDS = ["amsgrad", "adamw", "nadam", "radam"]


# -- by hand: f = x² + y² from (1, 0), g = 2θ, η = 0.1; y never moves -------------------------------
def _amsgrad(beta2=0.999, eps=1e-8):
    theta, m, v, v_max, out = 1.0, 0.0, 0.0, 0.0, []
    for t in (1, 2, 3):
        g = 2 * theta
        m = 0.9 * m + 0.1 * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)
        theta -= 0.1 * (m / (1 - 0.9**t)) / (sqrt(v_max / (1 - beta2**t)) + eps)
        out.append(theta)
    return out


def _adamw(weight_decay=1e-2, eps=1e-8):
    theta, m, v, out = 1.0, 0.0, 0.0, []
    for t in (1, 2, 3):
        g = 2 * theta  # the gradient at the iterate, before the decay
        theta *= 1 - 0.1 * weight_decay
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta -= 0.1 * (m / (1 - 0.9**t)) / (sqrt(v / (1 - 0.999**t)) + eps)
        out.append(theta)
    return out


def _mu(t, psi=4e-3):
    return 0.9 * (1 - 0.5 * 0.96 ** (t * psi))


def _nadam(eps=1e-8):
    theta, m, v, product, out = 1.0, 0.0, 0.0, 1.0, []
    for t in (1, 2, 3):
        g = 2 * theta
        product *= _mu(t)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        d = sqrt(v / (1 - 0.999**t)) + eps
        theta -= 0.1 * (1 - _mu(t)) / (1 - product) * g / d + 0.1 * _mu(t + 1) / (1 - product * _mu(t + 1)) * m / d
        out.append(theta)
    return out


def _radam(steps=3, eps=1e-8):
    theta, m, v, out = 1.0, 0.0, 0.0, []
    rho_inf = 2 / (1 - 0.999) - 1
    for t in range(1, steps + 1):
        g = 2 * theta
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat = m / (1 - 0.9**t)
        rho = rho_inf - 2 * t * 0.999**t / (1 - 0.999**t)
        if rho > 5:
            r = sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            theta -= 0.1 * m_hat * r * sqrt(1 - 0.999**t) / (sqrt(v) + eps)
        else:
            theta -= 0.1 * m_hat
        out.append(theta)
    return out


CASES = {
    "amsgrad": ({"lr": 0.1}, _amsgrad()),
    "amsgrad, β2 = 0.5": ({"lr": 0.1, "beta2": 0.5}, _amsgrad(beta2=0.5)),  # v falls at step 3
    "adamw": ({"lr": 0.1}, _adamw()),
    "adamw, λ = 0.5": ({"lr": 0.1, "weight_decay": 0.5}, _adamw(weight_decay=0.5)),
    "nadam": ({"lr": 0.1}, _nadam()),
    "radam": ({"lr": 0.1}, _radam()),
    "radam, rectified from step 6": ({"lr": 0.1}, _radam(steps=8)),
}


def test_hand_values_are_the_published_ones():
    # decimals on paper, so a slip in the unrolled arithmetic above cannot hide
    assert _amsgrad()[0] == pytest.approx(0.9)  # bias correction: the first step is η, as Adam's
    # β2 = 0.5: v1 = 2, v2 = 1 + 1.62 = 2.62, v3 = 1.31 + ½(2θ2)² < 2.62 (θ2 < 0.9), so step 3
    # divides by √(v_max/(1 − 0.125)) = √(2.62/0.875), not by v3
    a1, a2, a3 = _amsgrad(beta2=0.5)
    m3 = 0.9 * 0.36 + 0.1 * 2 * a2
    assert a3 == pytest.approx(a2 - 0.1 * (m3 / (1 - 0.729)) / sqrt(2.62 / 0.875))
    assert _adamw()[0] == pytest.approx(0.999 - 0.1)  # decay θ·(1 − ηλ) first, then Adam's η
    mu1, mu2 = 0.9 * (1 - 0.5 * 0.96**0.004), 0.9 * (1 - 0.5 * 0.96**0.008)
    assert mu1 == pytest.approx(0.4500735, abs=1e-7)
    # (1 − μ1)/(1 − Π1) = 1, so the gradient term is η·g/√v̂ = 0.1; the momentum term η·μ2·m/…
    assert _nadam()[0] == pytest.approx(1 - 0.1 - 0.1 * mu2 / (1 - mu1 * mu2) * 0.2 / 2)
    # RAdam's first 5 steps (ρt ≤ 5) are momentum steps η·m̂: m̂1 = 2, m̂2 = 0.34/0.19
    assert _radam()[:2] == pytest.approx([0.8, 0.8 - 0.1 * 0.34 / 0.19])
    rho = [1999 - 2 * t * 0.999**t / (1 - 0.999**t) for t in (5, 6)]
    assert rho[0] <= 5 < rho[1]


@pytest.mark.parametrize("case", list(CASES))
def test_first_steps_match_hand_values(case):
    oid = case.split(",")[0]
    hp, expected = CASES[case]
    r = rollout(get_surface("bowl"), start=(1.0, 0.0), steps=len(expected), settings={oid: hp}, optimizers=[oid])
    np.testing.assert_allclose(r.paths[0, 1:, 0], expected, rtol=1e-12, atol=1e-15)
    assert np.all(r.paths[0, :, 1] == 0.0)


# -- the engine equals each rule stepped in plain Python ------------------------------------------
@pytest.mark.parametrize("sid", ["rosenbrock", "himmelblau"])
@pytest.mark.parametrize("noise", [0.0, 0.7])
def test_engine_equals_the_pure_rules(sid, noise):
    s = get_surface(sid)
    rng = np.random.default_rng([len(sid), int(noise * 10)])
    settings = {}
    for oid in EXTRA_IDS:
        draw = {"lr": 10 ** rng.uniform(-4, -2.5), "beta1": rng.uniform(0.2, 0.95), "beta2": rng.uniform(0.9, 0.9999),
                "eps": 10 ** rng.uniform(-9, -5), "weight_decay": 10 ** rng.uniform(-3, 0),
                "momentum_decay": 10 ** rng.uniform(-3, -1)}
        settings[oid] = {k: draw[k] for k in EXTRAS[oid].defaults}
    r = rollout(s, steps=60, settings=settings, optimizers=EXTRA_IDS, noise=noise, batch_size=12, seed=3)
    assert r.names == EXTRA_IDS and (r.diverged_at == -1).all()
    for i, oid in enumerate(r.names):
        ref = reference_path(s, oid, r.settings[oid], s.start, 60, noise, 12, 3)
        np.testing.assert_allclose(r.paths[i], ref, rtol=1e-10, atol=1e-12, err_msg=oid)


# -- torch.optim's algorithms, transcribed independently in NumPy ---------------------------------
def torch_transcription(oid, surface, hp, steps):
    """torch.optim's single-tensor step (Adam(amsgrad=True), AdamW, NAdam, RAdam in torch 2.x)
    for both coordinates at once, in NumPy, with its state names; not the rules above."""
    p = np.array(surface.start, dtype=float)
    lr, beta1, beta2, eps = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"]
    exp_avg, exp_avg_sq, max_exp_avg_sq, mu_product = np.zeros(2), np.zeros(2), np.zeros(2), 1.0
    path = [p.copy()]
    for step in range(1, steps + 1):
        grad = np.array([float(v) for v in surface.grad(*p)])
        if oid == "adamw":
            p = p * (1 - lr * hp["weight_decay"])
        if oid == "nadam":
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * hp["momentum_decay"])))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * hp["momentum_decay"])))
            mu_product *= mu
        exp_avg = exp_avg + (1 - beta1) * (grad - exp_avg)  # exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * grad * grad
        bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
        if oid in ("amsgrad", "adamw"):
            if oid == "amsgrad":
                max_exp_avg_sq = np.maximum(max_exp_avg_sq, exp_avg_sq)
            denom = np.sqrt(max_exp_avg_sq if oid == "amsgrad" else exp_avg_sq) / bias_correction2**0.5 + eps
            p = p - (lr / bias_correction1) * exp_avg / denom
        elif oid == "nadam":
            denom = np.sqrt(exp_avg_sq / bias_correction2) + eps
            p = p - lr * (1 - mu) / (1 - mu_product) * grad / denom
            p = p - lr * mu_next / (1 - mu_product * mu_next) * exp_avg / denom
        else:  # radam
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive_lr = math.sqrt(bias_correction2) / (np.sqrt(exp_avg_sq) + eps)
                p = p - exp_avg / bias_correction1 * lr * adaptive_lr * rect
            else:
                p = p - exp_avg / bias_correction1 * lr
        path.append(p.copy())
    return np.array(path)


OTHER = {"beta1": 0.3, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.5, "momentum_decay": 0.05}


@pytest.mark.parametrize("sid", ["rosenbrock", "beale"])
@pytest.mark.parametrize("other", [False, True], ids=["torch defaults", "other hyperparameters"])
def test_extras_equal_a_numpy_transcription_of_torch(sid, other):
    s = get_surface(sid)
    settings = {oid: {"lr": s.lr, **({k: OTHER[k] for k in EXTRAS[oid].defaults if k in OTHER} if other else {})}
                for oid in EXTRA_IDS}
    r = rollout(s, steps=60, settings=settings, optimizers=EXTRA_IDS)
    assert (r.diverged_at == -1).all()
    for i, oid in enumerate(r.names):
        theirs = torch_transcription(oid, s, r.settings[oid], 60)
        np.testing.assert_allclose(r.paths[i], theirs, rtol=1e-10, atol=1e-12, err_msg=f"{sid} {oid}")
        assert not np.array_equal(r.paths[i], rollout(s, steps=60, settings={"adam": {"lr": s.lr}},
                                                      optimizers=["adam"]).paths[0]), f"{oid} ran as Adam"


# -- live numbers ---------------------------------------------------------------------------------
def test_live_numbers_name_each_extras_state():
    settings = {oid: {"lr": 0.1} for oid in EXTRA_IDS}
    r = rollout(get_surface("bowl"), start=(1.0, 0.0), steps=3, settings=settings, optimizers=EXTRA_IDS,
                record_states=True)
    numbers = live_numbers(r, 2)
    json.dumps(numbers, allow_nan=False)
    rows = {row["id"]: row for row in numbers["rows"]}
    assert list(rows) == EXTRA_IDS
    symbols = {oid: [q["symbol"] for q in rows[oid]["state"]] for oid in EXTRA_IDS}
    assert symbols == {"amsgrad": ["m", "v", "v_max"], "adamw": ["m", "v"], "nadam": ["m", "v", "Πμ"],
                       "radam": ["m", "v"]}
    values = {oid: {q["symbol"]: q["value"][0] for q in rows[oid]["state"]} for oid in EXTRA_IDS}
    # after two updates from θ = 1 with g1 = 2: m = 0.9·0.2 + 0.1·g2, v = 0.999·0.004 + 0.001·g2²
    for oid, first_step in (("amsgrad", 0.1), ("adamw", 0.1 + 0.001), ("radam", 0.2)):
        g2 = 2 * (1 - first_step)
        assert rows[oid]["grad"][0] == pytest.approx(g2)
        assert values[oid]["m"] == pytest.approx(0.18 + 0.1 * g2)
        assert values[oid]["v"] == pytest.approx(0.003996 + 0.001 * g2 * g2)
    assert values["amsgrad"]["v_max"] == values["amsgrad"]["v"]  # v still growing
    assert values["nadam"]["Πμ"] == pytest.approx(_mu(1) * _mu(2))
    assert rows["radam"]["effective_lr"][0] == pytest.approx(0.1 * (0.18 + 0.1 * 1.6) / 0.19 / 1.6)
    assert all(q["value"][1] == 0.0 for oid in EXTRA_IDS for q in rows[oid]["state"] if q["symbol"] != "Πμ")


# -- opt-in: the default race stays the nine ------------------------------------------------------
def test_the_default_race_is_still_the_nine():
    s = get_surface("rosenbrock")
    assert len(OPTIMIZERS) == 9 and not set(EXTRAS) & set(OPTIMIZERS)
    assert list(ALL_OPTIMIZERS) == list(OPTIMIZERS) + EXTRA_IDS
    assert rollout(s, steps=5).names == list(OPTIMIZERS)
    assert sweep(s, steps=5, param="lr", values=[1e-3, 1e-2]).names == list(OPTIMIZERS)
    mixed = rollout(s, steps=5, optimizers=["radam", "adam", "adamw"])
    assert mixed.names == ["radam", "adam", "adamw"]
    # an extra's run is the same whoever races beside it
    alone = rollout(s, steps=5, optimizers=["adamw"])
    assert np.array_equal(mixed.paths[2], alone.paths[0])


def test_extras_settings_and_sweeps():
    s = get_surface("bowl")
    r = rollout(s, steps=5, optimizers=EXTRA_IDS)
    assert r.settings["adamw"] == {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2}
    assert r.settings["nadam"]["momentum_decay"] == 4e-3
    assert HYPERPARAMETERS["weight_decay"].symbol == r"\lambda" and HYPERPARAMETERS["momentum_decay"].symbol == r"\psi"
    with pytest.raises(ValueError, match="weight_decay must be in"):
        rollout(s, steps=5, settings={"adamw": {"weight_decay": -1.0}}, optimizers=["adamw"])
    with pytest.raises(ValueError, match="RAdam has no hyperparameter 'gamma'"):
        rollout(s, steps=5, settings={"radam": {"gamma": 0.9}}, optimizers=["radam"])
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'.*extras amsgrad"):
        rollout(s, steps=5, optimizers=["adamax"])
    with pytest.raises(ValueError, match="no optimizer to run"):  # no optimizer of the nine has λ
        sweep(s, steps=5, param="weight_decay", values=[0.0, 0.1])
    sw = sweep(s, steps=50, param="weight_decay", values=[0.0, 1.0], optimizers=["adamw"],
               settings={"adamw": {"lr": 0.05}})
    assert sw.names == ["adamw"] and sw.final_loss.shape == (1, 2)
    # λ = 0 is Adam (up to rounding: Adam's rule is the formula, AdamW's torch's fused order)
    adam = rollout(s, steps=50, settings={"adam": {"lr": 0.05}}, optimizers=["adam"])
    plain_adamw = rollout(s, steps=50, settings={"adamw": {"lr": 0.05, "weight_decay": 0.0}}, optimizers=["adamw"])
    np.testing.assert_allclose(plain_adamw.paths[0], adam.paths[0], rtol=1e-9, atol=1e-12)


def test_each_extra_has_its_own_colour_formula_and_lesson():
    from webapp.theme import OPTIMIZER_COLORS

    colours = [OPTIMIZER_COLORS[oid].upper() for oid in ALL_OPTIMIZERS]
    assert len(set(colours)) == len(ALL_OPTIMIZERS) == 13
    for oid in EXTRA_IDS:
        spec = EXTRAS[oid]
        assert spec.gradient == "batch" and spec.formula_tex and len(spec.lesson) > 100
        assert spec.formula_tex.count("{") == spec.formula_tex.count("}"), oid
