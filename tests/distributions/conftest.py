"""torch's distribution argument validation is the oracle's default (on, outside ``python -O``).

Importing torch's dynamo (``torch.compile`` of a module, anywhere earlier in the same test
worker) switches that default off for the whole process, and the validation tests here would
then compare gradstep's errors with a torch that raises none. Each test runs with torch's
documented default, whatever ran before it.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _torch_validates_distribution_args():
    before = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(__debug__)
    yield
    torch.distributions.Distribution.set_default_validate_args(before)
