"""The resolved run configuration: defaults, then a TOML file, then command-line flags."""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


def suggest(name, choices):
    """`` (did you mean 'X'?)`` for a near-miss of one of ``choices``, else ``''``.

    Case is ignored; a name that is part of one or two choices (``cosine``) suggests them.
    """
    folded = {str(c).lower(): str(c) for c in choices}
    key = str(name).lower().lstrip("-")
    close = [folded[key]] if key in folded else [c for f, c in folded.items() if key and key in f]
    if not close or len(close) > 2:
        close = [folded[m] for m in difflib.get_close_matches(str(name).lower(), list(folded), n=1, cutoff=0.6)]
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


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
    def from_dict(cls, d, source="the configuration"):
        """A config from a dict of keys (unknown keys and values of the wrong type: UsageError)."""
        check_values(d, source)
        cfg = cls(**d)
        if isinstance(cfg.betas, list):
            cfg.betas = tuple(cfg.betas)
        return cfg

    def validate(self):
        """The ranges a run needs (the optimizer and scheduler check their own hyperparameters)."""
        for name, low in (("epochs", 1), ("batch_size", 1), ("accumulate", 1), ("workers", 0)):
            value = getattr(self, name)
            if value < low:
                raise UsageError(f"--{name.replace('_', '-')} must be at least {low}, got {value}")
            if value > _MAX_INT:  # past it, range() and islice() fail inside the loop
                raise UsageError(f"--{name.replace('_', '-')} must be at most 2**63 - 1, got {value}")
        if self.workers > max_workers():
            raise UsageError(f"--workers must be at most {max_workers()} (8 per CPU of this machine, 64 at least; "
                             f"each worker is a process), got {self.workers}")
        if not -(2**63) <= self.seed < 2**63 - 1:  # the data loader's generator is seeded with seed + 1
            raise UsageError(f"--seed must be between -2**63 and 2**63 - 2, got {self.seed}")
        if self.clip_grad_norm is not None and not self.clip_grad_norm > 0:
            raise UsageError(f"--clip-grad-norm must be a positive number, got {self.clip_grad_norm}")
        self._check_finite()
        return self

    def _check_finite(self):
        """A NaN or infinite hyperparameter would train to NaN without a word: refuse it here
        (the optimizers' own checks let NaN through, as torch's do)."""
        values = [(name, getattr(self, name)) for name in ("lr", "momentum", "weight_decay", "eps", "alpha")]
        values += [(f"betas[{i}]", b) for i, b in enumerate(self.betas or ())]
        for name, value in values:
            if value is not None and not math.isfinite(value):
                flag = "--betas" if name.startswith("betas") else f"--{name.replace('_', '-')}"
                raise UsageError(f"{flag} must be a finite number, got {value}")


_MAX_INT = 2**63 - 1


def max_workers():
    """The most DataLoader worker processes a run may start (torch warns past the CPU count; a typo such
    as --workers 100000 would fork that many processes)."""
    return max(64, 8 * (os.cpu_count() or 1))


_TYPES = {"str": ((str,), "a string"), "float": ((int, float), "a number"), "int": ((int,), "an integer"),
          "bool": ((bool,), "true or false"), "tuple": ((list, tuple), "a list of 2 numbers"),
          "dict": ((dict,), "a table of KEY = VALUE")}


def _field_kinds():
    """``{field: (python types, words, None allowed)}`` from the annotations (``float | None``)."""
    out = {}
    for f in dataclasses.fields(TrainConfig):
        parts = [p.strip() for p in str(f.type).split("|")]
        (types, words), = (_TYPES[p] for p in parts if p != "None")
        out[f.name] = (types, words, "None" in parts)
    return out


def check_values(d, source="the configuration"):
    """Unknown keys (with a suggestion) and values of the wrong type in ``d`` are a UsageError."""
    if not isinstance(d, dict):
        raise UsageError(f"{source} must hold a table of settings, got {type(d).__name__}")
    kinds = _field_kinds()
    for key, value in d.items():
        if key not in kinds:
            hint = suggest(key, kinds) or f"; valid keys: {', '.join(sorted(kinds))}"
            raise UsageError(f"{source}: unknown key '{key}'{hint}")
        types, words, optional = kinds[key]
        if value is None and optional:
            continue
        bad = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if not bad and key == "betas":
            bad = len(value) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                             for v in value)
        if bad:
            got = "a string" if isinstance(value, str) else type(value).__name__
            raise UsageError(f"{source}: {key} must be {words}{' or none' if optional else ''}, "
                             f"got {value!r} ({got})")
    return d


def read_toml(path):
    """Config keys from a TOML file (the same names as the flags, with underscores)."""
    if not os.path.isfile(path):
        raise UsageError(f"config file '{path}' " + ("is not a file" if os.path.exists(path) else "does not exist"))
    if tomllib is None:
        raise UsageError("reading TOML configs needs Python 3.11+ (tomllib)")
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read config file '{path}': {e}") from None
    values = {k.replace("-", "_"): v for k, v in raw.items()}
    check_values(values, f"config file '{path}'")
    return values


def resolve(flags: dict, config_path=None, base: dict | None = None, base_source="the saved run config"):
    """Defaults < ``base`` (a saved config) < TOML file < flags that were given.

    ``opt_args`` / ``sched_args`` merge key by key: ``--opt-arg amsgrad=true`` adds to
    the file's ``opt_args`` rather than replacing them.
    """
    values = {}
    layers = [check_values(base, base_source) if base is not None else {},
              read_toml(config_path) if config_path else {},
              {k: v for k, v in flags.items() if v is not None}]
    for layer in layers:
        for key, value in layer.items():
            both = isinstance(value, dict) and isinstance(values.get(key), dict)
            values[key] = {**values[key], **value} if both else value
    cfg = TrainConfig.from_dict(values)
    if cfg.optimizer == "SGD":  # the classic recipe, unless set otherwise
        cfg.momentum = 0.9 if cfg.momentum is None else cfg.momentum
        cfg.weight_decay = 1e-4 if cfg.weight_decay is None else cfg.weight_decay
    return cfg.validate()
