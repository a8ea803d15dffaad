"""Differentiable operations, by family. Each op is a ``Node`` subclass."""


def __getattr__(name):
    """This package is also ``torch.ops``: ``torch.ops.mylib`` is torch.library's namespace."""
    import importlib.util

    if importlib.util.find_spec(f"{__name__}.{name}") is not None:  # a submodule not yet imported
        return importlib.import_module(f"{__name__}.{name}")
    from .._ops_namespace import ops_getattr

    return ops_getattr(name)
