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
