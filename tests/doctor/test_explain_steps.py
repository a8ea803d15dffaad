"""explain removes its own hooks after its last step, from inside the optimizer's step."""

import gradstep as gs
from gradstep import nn
from gradstep.doctor import explain


def test_explain_of_one_step_removes_itself_during_the_step():
    gs.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = gs.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ex = [explain(opt, p, steps=1, show=False) for p in model.parameters()]
    for _ in range(2):
        opt.zero_grad()
        model(gs.randn(4, 3)).sum().backward()
        opt.step()  # the explains' post hooks remove themselves here: no "mutated during iteration"
    assert [len(e.sections) for e in ex] == [1, 1]  # one step each, the second step unexplained
    assert not any(e.active for e in ex)
    assert len(opt._optimizer_step_pre_hooks) == 0 and len(opt._optimizer_step_post_hooks) == 0
