"""Implementations behind ``gradstep.nn.functional``, one family per module."""
