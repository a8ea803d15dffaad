"""gradstep.doctor.watch: each test plants one classic mistake and expects exactly that finding;
a clean loop (several optimizers, schedulers, accumulation done right) raises none."""

import numpy as np
import pytest

import gradstep as torch
from gradstep import nn
from gradstep.doctor import Finding, watch


def _data(n_batches=40, batch=16, seed=0):
    """A learnable 3-class problem on 8 features (fixed batches)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((8, 3))
    out = []
    for _ in range(n_batches):
        x = rng.standard_normal((batch, 8)).astype(np.float32)
        y = (x @ w).argmax(1)
        out.append((torch.tensor(x), torch.tensor(y)))
    return out


def _model(dropout=True):
    torch.manual_seed(0)
    layers = [nn.Linear(8, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(0.1))
    return nn.Sequential(*layers, nn.Linear(16, 3))


def _codes(dr):
    return [f.code for f in dr.findings]


def _clean_loop(model, opt, data, sched=None, sched_every=None, accumulate=1):
    crit = nn.CrossEntropyLoss()
    model.train()
    for i, (x, y) in enumerate(data):
        loss = crit(model(x), y)
        (loss / accumulate if accumulate > 1 else loss).backward()
        if (i + 1) % accumulate == 0:
            opt.step()
            opt.zero_grad()
            if sched is not None and sched_every is None:
                sched.step()
        if sched is not None and sched_every and (i + 1) % sched_every == 0:
            sched.step()


@pytest.mark.parametrize("make", [
    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4),
    lambda p: torch.optim.Adam(p, lr=1e-3),
    lambda p: torch.optim.AdamW(p, lr=2e-3),
])
def test_clean_loop_has_no_findings(make):
    model = _model()
    opt = make(model.parameters())
    data = _data()
    with watch(model, opt) as dr:
        _clean_loop(model, opt, data)
        model.eval()
        with torch.no_grad():
            model(data[0][0])
        model.train()
    assert dr.findings == [], dr.report()
    assert "no problems found over 40 optimizer steps" in dr.report()


def test_clean_loop_with_schedulers_and_accumulation():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    per_batch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40)
    with watch(model, opt, per_batch) as dr:
        _clean_loop(model, opt, _data(40), per_batch)
    assert dr.findings == [], dr.report()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    per_epoch = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    with watch(model, opt, per_epoch) as dr:  # 10 batches per "epoch", accumulating 2
        _clean_loop(model, opt, _data(40), per_epoch, sched_every=10, accumulate=2)
    assert dr.findings == [], dr.report()


def test_hooks_are_removed_on_exit():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    backward = torch.Tensor.backward
    with watch(model, opt):
        assert torch.Tensor.backward is not backward
        assert "zero_grad" in opt.__dict__
    assert torch.Tensor.backward is backward
    assert "zero_grad" not in opt.__dict__ and "zero_grad" not in model.__dict__
    assert not opt._optimizer_step_pre_hooks and not model._forward_hooks and not model._forward_pre_hooks


# ---------------------------------------------------------------- 1
def test_grads_accumulating_across_steps():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    crit = nn.CrossEntropyLoss()
    with watch(model, opt) as dr:
        for x, y in _data(6):
            crit(model(x), y).backward()
            opt.step()  # no zero_grad anywhere
    assert _codes(dr) == ["accumulating-grads"], dr.report()
    f = dr.findings[0]
    assert isinstance(f, Finding) and f.step == 1 and "'0.weight'" in f.evidence


def test_manual_zeroing_is_not_accumulation():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    with watch(model, opt) as dr:
        for x, y in _data(8):
            for p in model.parameters():
                if p.grad is not None:
                    p.grad.zero_()
            crit(model(x), y).backward()
            opt.step()
    assert "accumulating-grads" not in _codes(dr), dr.report()


# ---------------------------------------------------------------- 2
def test_step_without_backward():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    crit = nn.CrossEntropyLoss()
    with watch(model, opt) as dr:
        for x, y in _data(3):
            opt.zero_grad()
            crit(model(x), y)  # backward forgotten
            opt.step()
    assert _codes(dr) == ["no-grads"], dr.report()
    assert "backward() was not called" in dr.findings[0].evidence


def test_step_with_loss_not_connected():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    other = torch.zeros(3, requires_grad=True)
    with watch(model, opt) as dr:
        for x, _ in _data(3):
            opt.zero_grad()
            model(x)
            (other * 2).sum().backward()  # the loss does not depend on the model
            opt.step()
    assert _codes(dr) == ["no-grads"], dr.report()
    assert "not connected" in dr.findings[0].evidence


# ---------------------------------------------------------------- 3
def test_params_outside_optimizer():
    model = _model()
    opt = torch.optim.SGD(model[0].parameters(), lr=0.05)  # the head is missing
    with watch(model, opt) as dr:
        _clean_loop(model, opt, _data(6))
    assert _codes(dr) == ["params-outside-optimizer"], dr.report()
    assert "'3.weight'" in dr.findings[0].evidence and "'3.bias'" in dr.findings[0].evidence


# ---------------------------------------------------------------- 4
def test_params_never_receiving_grad():
    class WithUnused(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = _model()
            self.unused = nn.Linear(2, 2)

        def forward(self, x):
            return self.net(x)

    model = WithUnused()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with watch(model, opt, unused_steps=4) as dr:
        _clean_loop(model, opt, _data(6))
    assert _codes(dr) == ["params-without-grad"], dr.report()
    assert dr.findings[0].step == 3 and "'unused.weight'" in dr.findings[0].evidence


def test_params_cut_off_by_detach():
    torch.manual_seed(0)
    first, head = nn.Linear(8, 16), nn.Linear(16, 3)
    model = nn.ModuleDict({"first": first, "head": head})
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    with watch(model, opt) as dr:
        for x, y in _data(6):
            opt.zero_grad()
            crit(head(first(x).detach().relu()), y).backward()
            opt.step()
    assert _codes(dr) == ["params-without-grad"], dr.report()
    assert "'first.weight'" in dr.findings[0].evidence


# ---------------------------------------------------------------- 5
def test_scheduler_before_optimizer():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=100)
    crit = nn.CrossEntropyLoss()
    with watch(model, opt, sched) as dr, pytest.warns(UserWarning, match="before `optimizer.step"):
        for x, y in _data(4):
            opt.zero_grad()
            crit(model(x), y).backward()
            sched.step()
            opt.step()
    assert _codes(dr) == ["scheduler-before-optimizer"], dr.report()


def test_per_epoch_scheduler_stepped_every_batch():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)  # 5 "epochs"
    with watch(model, opt, sched) as dr:
        _clean_loop(model, opt, _data(12), sched)  # stepped every batch
    assert _codes(dr) == ["scheduler-per-batch"], dr.report()
    assert "configured for 5 steps" in dr.findings[0].evidence


# ---------------------------------------------------------------- 6
class _Log(nn.Module):
    def forward(self, x):
        return x.log()  # NaN for negative inputs


def test_nonfinite_loss_names_the_op_in_the_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 3), _Log())
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    crit = nn.MSELoss()
    x, _ = _data(1)[0]
    with watch(model, opt) as dr:
        opt.zero_grad()
        crit(model(x), torch.zeros(16, 3)).backward()
        opt.step()
    assert "non-finite-loss" in _codes(dr), dr.report()
    ev = dr.findings[_codes(dr).index("non-finite-loss")].evidence
    assert "LogBackward0" in ev and "module 1 (_Log)" in ev and "return x.log()" in ev
    assert torch.get_rng_state().shape  # the re-run restored the RNG (smoke)


def test_nonfinite_loss_in_the_loss_computation():
    model = _model(dropout=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = _data(1)[0]
    with watch(model, opt) as dr:
        opt.zero_grad()
        probs = model(x).softmax(1) * 0  # probabilities of exactly 0
        loss = -(probs.log() * nn.functional.one_hot(y, 3)).sum()
        loss.backward()
        opt.step()
    assert "non-finite-loss" in _codes(dr), dr.report()
    ev = dr.findings[_codes(dr).index("non-finite-loss")].evidence
    assert "model's output is finite" in ev and "LogBackward0" in ev


def test_nonfinite_gradient_names_the_op():
    model = _model(dropout=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = _data(1)[0]
    with watch(model, opt) as dr:
        opt.zero_grad()
        out = model(x)
        loss = (out - out.detach()).pow(2).sum().sqrt()  # sqrt(0): finite loss, inf gradient
        loss.backward()
        opt.step()
    assert _codes(dr) == ["non-finite-grad"], dr.report()
    assert "SqrtBackward0" in dr.findings[0].evidence and "'0.weight'" in dr.findings[0].evidence


# ---------------------------------------------------------------- 7
def test_training_in_eval_mode():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    model.eval()
    crit = nn.CrossEntropyLoss()
    with watch(model, opt) as dr:
        for x, y in _data(3):
            opt.zero_grad()
            crit(model(x), y).backward()
            opt.step()
    assert _codes(dr) == ["eval-mode-training"], dr.report()


def test_evaluating_in_train_mode():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with watch(model, opt) as dr:
        _clean_loop(model, opt, _data(3))
        with torch.no_grad():  # model.eval() forgotten
            model(_data(1)[0][0])
    assert _codes(dr) == ["train-mode-eval"], dr.report()


def test_eval_mode_without_dropout_or_batchnorm_is_fine():
    model = _model(dropout=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    model.eval()
    with watch(model, opt) as dr:
        for x, y in _data(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    assert dr.findings == [], dr.report()


# ---------------------------------------------------------------- 8
def test_update_ratio_too_high():
    model = _model(dropout=False)
    opt = torch.optim.Adam(model.parameters(), lr=0.5)
    with watch(model, opt) as dr:
        _clean_loop(model, opt, _data(10))
    assert "update-ratio-high" in _codes(dr), dr.report()
    f = dr.findings[_codes(dr).index("update-ratio-high")]
    assert "lr 0.5" in f.evidence and "lower the lr" in f.fix


def test_update_ratio_too_low():
    model = _model(dropout=False)
    opt = torch.optim.SGD(model.parameters(), lr=1e-6)
    with watch(model, opt) as dr:
        _clean_loop(model, opt, _data(10))
    assert _codes(dr) == ["update-ratio-low"], dr.report()


# ---------------------------------------------------------------- 9
def test_loss_diverging():
    torch.manual_seed(0)
    model = nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    with watch(model, opt, ratio_slack=1e9) as dr:
        for _ in range(25):
            x = torch.tensor(rng.standard_normal((16, 8)).astype(np.float32) * 3)
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))
            loss.backward()
            opt.step()
            if not np.isfinite(loss.item()):
                break
    assert "loss-diverging" in _codes(dr), dr.report()


def test_loss_flat():
    model = _model(dropout=False)
    opt = torch.optim.SGD(model.parameters(), lr=1e-9)
    with watch(model, opt, ratio_slack=1e9) as dr:
        _clean_loop(model, opt, _data(10) * 4)
    assert _codes(dr) == ["loss-flat"], dr.report()


# ---------------------------------------------------------------- 10
def test_accumulation_without_scaling():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    crit = nn.CrossEntropyLoss()
    with watch(model, opt) as dr:
        for i, (x, y) in enumerate(_data(8)):
            crit(model(x), y).backward()  # should be (loss / 4).backward()
            if (i + 1) % 4 == 0:
                opt.step()
                opt.zero_grad()
    assert _codes(dr) == ["unscaled-accumulation"], dr.report()
    assert "4 forward/backward passes" in dr.findings[0].evidence


# ---------------------------------------------------------------- 11
def test_backward_on_loss_made_under_no_grad():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = _data(1)[0]
    with watch(model, opt) as dr:
        with torch.no_grad():
            loss = nn.functional.cross_entropy(model(x), y)
        with pytest.raises(RuntimeError, match="does not require grad(.|\n)*gradstep doctor: the forward"):
            loss.backward()
    assert _codes(dr) == ["backward-without-graph"], dr.report()


def test_backward_on_detached_loss():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = _data(1)[0]
    with watch(model, opt) as dr, pytest.raises(RuntimeError, match="cut off from the graph"):
        nn.functional.cross_entropy(model(x), y).detach().backward()
    assert _codes(dr) == ["backward-without-graph"], dr.report()


def test_zero_grad_between_backward_and_step():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    crit = nn.CrossEntropyLoss()
    with watch(model, opt) as dr:
        for x, y in _data(3):
            crit(model(x), y).backward()
            opt.zero_grad()
            opt.step()
    assert _codes(dr) == ["zero-grad-before-step"], dr.report()


def test_bad_arguments():
    model = _model()
    with pytest.raises(TypeError, match="nn.Module"):
        watch(object(), torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="optimizer"):
        watch(model, object())


def test_scheduler_state_dict_still_saves_while_watching(tmp_path):
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3)
    with watch(model, opt, sched):
        _clean_loop(model, opt, _data(2), sched)
        torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, str(tmp_path / "ck.gs"))


def test_gradstep_train_doctor_prints_the_report(tmp_path, capsys):
    from gradstep.cli import main

    status = main(["train", "--doctor", "--epochs", "1", "--batch-size", "128", "--no-progress", "--lr", "1e-7",
                   "--out", str(tmp_path / "run")])
    assert status == 0
    out = capsys.readouterr().out
    assert "gradstep doctor:" in out and "[update-ratio-low] Learning rate too low" in out


def test_closure_optimizer_lbfgs_is_clean():
    model = _model(dropout=False)
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4)
    crit = nn.CrossEntropyLoss()
    with watch(model, opt) as dr:
        for x, y in _data(8):
            def closure(x=x, y=y):
                opt.zero_grad()
                loss = crit(model(x), y)
                loss.backward()
                return loss

            opt.step(closure)
    assert dr.steps == 8
    assert dr.findings == [], dr.report()


# ---------------------------------------------------------------- mistakes that start late
# The costly evidence is gathered on checked steps only (the first 10, then every 10th; the
# update ratio on 2-6 then every 50th): each test below plants its mistake well after step 10,
# on steps that are not checked, and expects it to be caught all the same.
def _late_loop(model, opt, data, plant, start):
    """A clean loop whose iterations from ``start`` on run ``plant(x, y)`` instead."""
    crit = nn.CrossEntropyLoss()
    for i, (x, y) in enumerate(data):
        if i >= start:
            plant(x, y)
            continue
        opt.zero_grad()
        crit(model(x), y).backward()
        opt.step()


def _nan_grad_at(model, opt, n_steps, at, **options):
    """A clean loop whose iteration ``at`` has a finite loss with a NaN gradient (sqrt at 0)."""
    crit = nn.CrossEntropyLoss()
    with watch(model, opt, **options) as dr:
        for i, (x, y) in enumerate(_data(n_steps)):
            opt.zero_grad()
            out = model(x)
            loss = (out - out.detach()).pow(2).sum().sqrt() if i == at else crit(out, y)
            loss.backward()
            opt.step()
    return dr


def test_late_nonfinite_gradient_is_caught_from_the_spoiled_parameters():
    model = _model(dropout=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    dr = _nan_grad_at(model, opt, 60, at=52)  # step 53: not checked
    codes = _codes(dr)
    assert codes[:2] == ["non-finite-grad", "non-finite-loss"], dr.report()
    f = dr.findings[0]
    assert f.step == 53 and "one of steps 51-53" in f.evidence and "'0.weight'" in f.evidence
    assert "check_every=1" in f.fix


def test_late_nonfinite_gradient_on_a_checked_step_names_the_op():
    model = _model(dropout=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    dr = _nan_grad_at(model, opt, 60, at=49)  # step 50: checked
    assert _codes(dr)[0] == "non-finite-grad" and dr.findings[0].step == 49, dr.report()
    assert "SqrtBackward0" in dr.findings[0].evidence


def test_check_every_1_names_the_op_of_a_late_nonfinite_gradient():
    model = _model(dropout=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    dr = _nan_grad_at(model, opt, 60, at=52, check_every=1)
    assert _codes(dr)[0] == "non-finite-grad" and dr.findings[0].step == 52, dr.report()
    assert "SqrtBackward0" in dr.findings[0].evidence


def test_late_step_without_backward_is_caught_at_once():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    def plant(x, y):
        opt.zero_grad()
        model(x)
        opt.step()

    with watch(model, opt) as dr:
        _late_loop(model, opt, _data(60), plant, start=54)
    assert _codes(dr) == ["no-grads"], dr.report()
    assert dr.findings[0].step == 54


def test_late_loss_not_connected_is_caught_at_the_next_checked_step():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    other = torch.zeros(3, requires_grad=True)

    def plant(x, y):
        opt.zero_grad()
        model(x)
        (other * 2).sum().backward()
        opt.step()

    with watch(model, opt) as dr:
        _late_loop(model, opt, _data(62), plant, start=51)
    assert _codes(dr) == ["no-grads"], dr.report()
    assert dr.findings[0].step == 59 and "not connected" in dr.findings[0].evidence


def test_late_zero_grad_between_backward_and_step_is_caught_at_once():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()

    with watch(model, opt) as dr:
        for i, (x, y) in enumerate(_data(60)):
            crit(model(x), y).backward()
            if i >= 52:
                opt.zero_grad()  # from step 53 on: misplaced, before step()
            opt.step()
            opt.zero_grad()
    assert _codes(dr) == ["zero-grad-before-step"] and dr.findings[0].step == 52, dr.report()


def test_late_unused_parameters_are_caught():
    torch.manual_seed(0)
    first, head = nn.Linear(8, 16), nn.Linear(16, 3)
    model = nn.ModuleDict({"first": first, "head": head})
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    with watch(model, opt, unused_steps=3) as dr:
        for i, (x, y) in enumerate(_data(40) * 2):
            opt.zero_grad()
            h = first(x)
            crit(head((h.detach() if i >= 50 else h).relu()), y).backward()  # cut off from step 51
            opt.step()
    assert _codes(dr) == ["params-without-grad"], dr.report()
    assert "'first.weight'" in dr.findings[0].evidence and dr.findings[0].step == 79


def test_late_unscaled_accumulation_and_missing_zero_grad_are_caught_at_once():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    crit = nn.CrossEntropyLoss()
    batches = iter(_data(40) * 2)

    def accumulate(x, y):
        opt.zero_grad()
        crit(model(x), y).backward()
        x2, y2 = next(batches)
        crit(model(x2), y2).backward()  # should be divided by 2
        opt.step()
        opt.zero_grad()

    with watch(model, opt) as dr:
        _late_loop(model, opt, _data(56), accumulate, start=51)
    assert _codes(dr) == ["unscaled-accumulation"] and dr.findings[0].step == 51, dr.report()  # step 52
    assert "2 forward/backward passes" in dr.findings[0].evidence

    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def no_zero_grad(x, y):
        crit(model(x), y).backward()
        opt.step()

    with watch(model, opt) as dr:
        _late_loop(model, opt, _data(56), no_zero_grad, start=52)
    assert _codes(dr) == ["accumulating-grads"] and dr.findings[0].step == 52, dr.report()  # in step 53


def test_late_lr_too_high_is_caught():
    model = _model(dropout=False)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = _data(40) * 2
    with watch(model, opt) as dr:
        for i, (x, y) in enumerate(data):
            if i == 60:
                opt.param_groups[0]["lr"] = 0.5
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    assert "update-ratio-high" in _codes(dr), dr.report()
    # the lr moved more than 2x: from the checked step 70 the update is measured 5 steps in a
    # row, and the median of the last 5 measurements (6, 50, 70, 71, 72) is high at step 72
    assert dr.findings[_codes(dr).index("update-ratio-high")].step == 72


def test_check_every_must_be_a_positive_int():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="check_every"):
            watch(model, opt, check_every=bad)
