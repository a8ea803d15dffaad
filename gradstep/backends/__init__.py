"""``torch.backends`` as on a CPU-only build: flags programs set, and what is available.

``torch.backends.cudnn.benchmark = True`` and the other flags are plain module
attributes that can be read and set; they change nothing, because gradstep computes
on the CPU with NumPy. ``is_available()`` answers as torch 2.13's CPU wheel does.
"""

from . import cpu, cuda, cudnn, mha, mkl, mkldnn, mps, openmp, opt_einsum

__all__ = ["cpu", "cuda", "cudnn", "mha", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]
