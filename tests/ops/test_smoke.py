import pytest

from tests.helpers import check


@pytest.mark.parametrize("op", [
    lambda L, a, b: a + b, lambda L, a, b: a - b, lambda L, a, b: a * b, lambda L, a, b: a / b,
    lambda L, a, b: L.maximum(a, b), lambda L, a, b: L.where(a > b, a, b),
])
def test_binary_broadcast(op):
    check(op, [(3, 4), (4,)])
    check(op, [(2, 1, 4), (3, 1)])


def test_matmul_chain():
    check(lambda L, a, b: (a @ b).relu().sum(1), [(5, 3), (3, 4)])
