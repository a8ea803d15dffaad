"""The resolved run configuration: defaults, then a TOML file, then command-line flags."""

from __future__ import annotations

import dataclasses
import json
import os

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


@dataclasses.dataclass
class TrainConfig:
    model: str = "mlp"
    data: str = "digits"
    optimizer: str = "SGD"
    lr: float = 0.1
    momentum: float | None = None  # SGD's default: 0.9
    weight_decay: float | None = None  # SGD's default: 1e-4
    nesterov: bool | None = None
    betas: tuple | None = None
    eps: float | None = None
    alpha: float | None = None
    opt_args: dict = dataclasses.field(default_factory=dict)
    scheduler: str | None = "CosineAnnealingLR"
    sched_args: dict = dataclasses.field(default_factory=dict)
    epochs: int = 20
    batch_size: int = 16
    accumulate: int = 1
    clip_grad_norm: float | None = None
    seed: int = 0
    workers: int = 0
    out: str | None = None
    doctor: bool = False

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UsageError(f"unknown config key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(names))}")
        cfg = cls(**d)
        if isinstance(cfg.betas, list):
            cfg.betas = tuple(cfg.betas)
        return cfg


def read_toml(path):
    """Config keys from a TOML file (the same names as the flags, with underscores)."""
    if not os.path.isfile(path):
        raise UsageError(f"config file '{path}' does not exist")
    if tomllib is None:
        raise UsageError("reading TOML configs needs Python 3.11+ (tomllib)")
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read config file '{path}': {e}") from None
    return {k.replace("-", "_"): v for k, v in raw.items()}


def resolve(flags: dict, config_path=None, base: dict | None = None):
    """Defaults < ``base`` (a saved config) < TOML file < flags that were given."""
    values = dict(base or {})
    if config_path:
        values.update(read_toml(config_path))
    values.update({k: v for k, v in flags.items() if v is not None})
    cfg = TrainConfig.from_dict(values)
    if cfg.optimizer == "SGD":  # the classic recipe, unless set otherwise
        cfg.momentum = 0.9 if cfg.momentum is None else cfg.momentum
        cfg.weight_decay = 1e-4 if cfg.weight_decay is None else cfg.weight_decay
    return cfg
