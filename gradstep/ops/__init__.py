"""Differentiable operations, by family. Each op is a ``Node`` subclass."""
