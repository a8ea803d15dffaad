"""``torch._C``: torch's C extension, which gradstep does not have.

Public code probes it with ``hasattr(torch._C, "...")``; every such name is missing
here, so the probes answer False and code takes its portable path.
"""
