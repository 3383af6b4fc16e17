"""Every optimizer, the extras too, equals torch.optim, to 1e-9 relative, over 60 steps on every
built-in surface at two ε settings (skipped where PyTorch is not installed: pip install torch)."""

import numpy as np
import pytest

from optimizers import ALL_OPTIMIZERS, rollout
from optimizers.torch_reference import torch_optimizer
from optimizers.engine import is_data
from surfaces import SURFACES

torch = pytest.importorskip("torch")



@pytest.fixture(autouse=True)
def float64_scalars():
    """torch keeps an optimizer's step count and NAdam's μ-product in its default dtype: float64,
    as the engine computes (in float32, NAdam's μ-product alone differs by about 1e-7)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def torch_path(surface, oid, hp, steps):
    """`oid` stepped by torch.optim, its gradient set from the surface's SymPy gradient. For
    Nesterov torch's parameter is the look-ahead point, θ − γv in SPEC §2's terms."""
    p = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(oid, p, hp)
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        gx, gy = surface.grad(*p.detach().numpy())
        p.grad = torch.tensor([float(gx), float(gy)], dtype=torch.float64)
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("eps", [1e-8, 1e-4])
# (data surfaces feed torch their batches: tests/test_data_surfaces.py)
@pytest.mark.parametrize("sid", [sid for sid, s in SURFACES.items() if not is_data(s)])
def test_every_optimizer_equals_torch_optim(sid, eps):
    surface = SURFACES[sid]
    settings = {oid: {"lr": surface.lr if oid != "adadelta" else 1.0} for oid in ALL_OPTIMIZERS}
    for oid in ALL_OPTIMIZERS:
        if "eps" in ALL_OPTIMIZERS[oid].defaults:
            settings[oid]["eps"] = eps
    r = rollout(surface, steps=60, settings=settings, optimizers=list(ALL_OPTIMIZERS), record_states=True)
    assert r.names == list(ALL_OPTIMIZERS)
    for i, oid in enumerate(r.names):
        ours = r.paths[i]
        if oid == "nag":  # torch keeps the look-ahead point: θ − γv, v = η·b (b: the rule's state)
            ours = ours.copy()
            ours[1:] -= r.settings[oid]["gamma"] * (r.settings[oid]["lr"] * r.states["state"][i, :, 0:2])
        theirs = torch_path(surface, oid, r.settings[oid], 60)
        # a run that diverged at step k is frozen from there on (SPEC §4); torch's goes on
        # (Momentum on Beale at its η does): compare the steps before k
        valid = r.diverged_at[i] if r.diverged_at[i] >= 0 else 61
        np.testing.assert_allclose(ours[:valid], theirs[:valid], rtol=1e-9, atol=1e-12, err_msg=f"{sid} {oid}")
