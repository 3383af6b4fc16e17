"""Every optimizer equals torch.optim, to 1e-9 relative, over 60 steps on every built-in surface
at two ε settings (skipped where PyTorch is not installed: pip install torch)."""

import numpy as np
import pytest

from optimizers import OPTIMIZERS, rollout
from surfaces import SURFACES

torch = pytest.importorskip("torch")

MAKERS = {
    "gd": lambda p, h: torch.optim.SGD([p], lr=h["lr"]),
    "sgd": lambda p, h: torch.optim.SGD([p], lr=h["lr"]),
    "minibatch_sgd": lambda p, h: torch.optim.SGD([p], lr=h["lr"]),
    "momentum": lambda p, h: torch.optim.SGD([p], lr=h["lr"], momentum=h["gamma"]),
    "nag": lambda p, h: torch.optim.SGD([p], lr=h["lr"], momentum=h["gamma"], nesterov=True),
    "adagrad": lambda p, h: torch.optim.Adagrad([p], lr=h["lr"], eps=h["eps"]),
    "adadelta": lambda p, h: torch.optim.Adadelta([p], lr=h["lr"], rho=h["rho"], eps=h["eps"]),
    "rmsprop": lambda p, h: torch.optim.RMSprop([p], lr=h["lr"], alpha=h["rho"], eps=h["eps"]),
    "adam": lambda p, h: torch.optim.Adam([p], lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"]),
}


def torch_path(surface, oid, hp, steps):
    """`oid` stepped by torch.optim, its gradient set from the surface's SymPy gradient. For
    Nesterov torch's parameter is the look-ahead point, θ − γv in SPEC §2's terms."""
    p = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
    opt = MAKERS[oid](p, hp)
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        gx, gy = surface.grad(*p.detach().numpy())
        p.grad = torch.tensor([float(gx), float(gy)], dtype=torch.float64)
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("eps", [1e-8, 1e-4])
@pytest.mark.parametrize("sid", list(SURFACES))
def test_every_optimizer_equals_torch_optim(sid, eps):
    surface = SURFACES[sid]
    settings = {oid: {"lr": surface.lr if oid != "adadelta" else 1.0} for oid in OPTIMIZERS}
    for oid, spec in OPTIMIZERS.items():
        if "eps" in spec.defaults:
            settings[oid]["eps"] = eps
    r = rollout(surface, steps=60, settings=settings, record_states=True)
    for i, oid in enumerate(r.names):
        ours = r.paths[i]
        if oid == "nag":  # torch keeps the look-ahead point: θ − γv
            ours = ours.copy()
            ours[1:] -= r.settings[oid]["gamma"] * r.states["state"][i, :, 0:2]
        theirs = torch_path(surface, oid, r.settings[oid], 60)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, err_msg=f"{sid} {oid}")
