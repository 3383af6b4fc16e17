"""Each optimizer's torch.optim counterpart, the reference its rule is checked against
(tests/test_torch_equality.py) and timed against (benchmarks/bench_engine.py). PyTorch is
optional: it is imported only when a counterpart is made."""

from __future__ import annotations

from typing import Mapping


def torch_optimizer(oid: str, param, hp: Mapping[str, float]):
    """A torch.optim optimizer over the tensor `param` that runs optimizer `oid` with the
    hyperparameters `hp` (every key of its defaults). For Nesterov, torch's parameter is the
    look-ahead point θ − γv of SPEC §2 (v = η·b, b the rule's momentum buffer)."""
    import torch

    adam_like = dict(lr=hp.get("lr"), betas=(hp.get("beta1"), hp.get("beta2")), eps=hp.get("eps"))
    makers = {
        "gd": lambda: torch.optim.SGD([param], lr=hp["lr"]),
        "sgd": lambda: torch.optim.SGD([param], lr=hp["lr"]),
        "minibatch_sgd": lambda: torch.optim.SGD([param], lr=hp["lr"]),
        "momentum": lambda: torch.optim.SGD([param], lr=hp["lr"], momentum=hp["gamma"]),
        "nag": lambda: torch.optim.SGD([param], lr=hp["lr"], momentum=hp["gamma"], nesterov=True),
        "adagrad": lambda: torch.optim.Adagrad([param], lr=hp["lr"], eps=hp["eps"]),
        "adadelta": lambda: torch.optim.Adadelta([param], lr=hp["lr"], rho=hp["rho"], eps=hp["eps"]),
        "rmsprop": lambda: torch.optim.RMSprop([param], lr=hp["lr"], alpha=hp["rho"], eps=hp["eps"]),
        "adam": lambda: torch.optim.Adam([param], **adam_like),
        "amsgrad": lambda: torch.optim.Adam([param], **adam_like, amsgrad=True),
        "adamw": lambda: torch.optim.AdamW([param], **adam_like, weight_decay=hp["weight_decay"]),
        "nadam": lambda: torch.optim.NAdam([param], **adam_like, momentum_decay=hp["momentum_decay"]),
        "radam": lambda: torch.optim.RAdam([param], **adam_like),
    }
    if oid not in makers:
        raise ValueError(f"no torch.optim counterpart for {oid!r}")
    return makers[oid]()


def torch_scheduler(schedule, optimizer, steps: int):
    """The torch.optim.lr_scheduler that steps `optimizer`'s lr as `schedule` (schedules.py)
    does over a race of `steps` steps, to be stepped after every optimizer step; None for a
    constant schedule (or None). cosine's eta_min is min_factor times the optimizer's lr."""
    from torch.optim import lr_scheduler as L

    from .schedules import parse

    s = parse(schedule)
    if s is None or s.kind == "constant":
        return None
    s = s.resolved(steps)
    lr = optimizer.param_groups[0]["lr"]
    if s.kind == "step":
        return L.StepLR(optimizer, step_size=s.step_size, gamma=s.gamma)
    if s.kind == "exponential":
        return L.ExponentialLR(optimizer, gamma=s.gamma)
    if s.kind == "cosine":
        return L.CosineAnnealingLR(optimizer, T_max=s.T_max, eta_min=s.min_factor * lr)
    warmup = L.LinearLR(optimizer, start_factor=s.start_factor, end_factor=1.0, total_iters=s.warmup)
    cosine = L.CosineAnnealingLR(optimizer, T_max=steps - s.warmup, eta_min=s.min_factor * lr)
    return L.SequentialLR(optimizer, [warmup, cosine], milestones=[s.warmup])
