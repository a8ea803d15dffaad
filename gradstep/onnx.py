"""``torch.onnx``: importable, but gradstep has no ONNX exporter (it records no graphs)."""

from __future__ import annotations


def is_in_onnx_export() -> bool:
    return False


def export(model, args=(), f=None, *pos, **kwargs):
    raise NotImplementedError("gradstep cannot export ONNX: it runs models eagerly and records no "
                              "graph. Load the state_dict into real torch and export from there.")
