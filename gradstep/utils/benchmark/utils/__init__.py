"""The modules of ``torch.utils.benchmark`` (``common``, ``timer``, ``compare``)."""
