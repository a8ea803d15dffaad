"""The x-ray: what it records on one step matches the optimizer and real torch; the page holds it."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import gradstep as gs
from gradstep import nn
from gradstep.viz.graph import engine_nodes
from gradstep.viz.xray import XRay, xray_script

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((40, 5)), rng.integers(0, 3, 40)


def _gs_model():
    gs.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 3)).double()


def _torch_copy(model):
    m = torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.Tanh(), torch.nn.Linear(12, 3)).double()
    with torch.no_grad():
        for p, q in zip(m.parameters(), model.parameters()):
            p.copy_(torch.from_numpy(q.detach().numpy().copy()))
    return m


def _loop(lib, model, opt, x, y, steps, zero=True, keep=None):
    crit = lib.nn.CrossEntropyLoss()
    for s in range(steps):
        xb, yb = lib.from_numpy(x[s % 4 * 10:(s % 4 + 1) * 10]), lib.from_numpy(y[s % 4 * 10:(s % 4 + 1) * 10])
        loss = crit(model(xb), yb)
        if zero:
            opt.zero_grad()
        if keep is not None:
            keep.append(loss)
        loss.backward()
        opt.step()


def test_adam_step_numbers_match_torch(tmp_path):
    x, y = _data()
    model = _gs_model()
    tmodel = _torch_copy(model)
    opt = gs.optim.Adam(model.parameters(), lr=0.01)
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.01)
    losses = []
    with XRay() as xr:
        _loop(gs, model, opt, x, y, 5, keep=losses)
    tparams = []
    for s in range(5):
        if s == 1:  # the detailed step is the second: keep torch's parameters around it
            tparams = [p.detach().clone() for p in tmodel.parameters()]
        crit = torch.nn.CrossEntropyLoss()
        xb = torch.from_numpy(x[s % 4 * 10:(s % 4 + 1) * 10])
        yb = torch.from_numpy(y[s % 4 * 10:(s % 4 + 1) * 10])
        loss = crit(tmodel(xb), yb)
        topt.zero_grad()
        loss.backward()
        if s == 1:
            tgrads = [p.grad.norm().item() for p in tmodel.parameters()]
        topt.step()
        if s == 1:
            tupd = [(p.detach() - b).norm().item() for p, b in zip(tmodel.parameters(), tparams)]
            # torch's effective lr after step 2: lr / (sqrt(v / (1 - beta2^2)) + eps)
            teff = [0.01 / ((topt.state[p]["exp_avg_sq"] / (1 - 0.999 ** 2)).sqrt() + 1e-8)
                    for p in tmodel.parameters()]
    d = xr.detail
    assert xr.steps == 5 and d["step"] == 2 and d["optimizer"] == "Adam"
    assert [e["kind"] for e in d["events"]] == ["zero_grad", "backward", "step"]
    # float64 on both sides; 1e-10 covers the different summation orders of the norms
    for r, g, u in zip(d["params"], tgrads, tupd):
        assert r["grad"] == pytest.approx(g, rel=1e-10)
        assert r["update"] == pytest.approx(u, rel=1e-8)
        assert set(r["state"]) == {"exp_avg", "exp_avg_sq"}
    for i, te in enumerate(teff):
        h = d["hist"][i]
        assert sum(h["counts"]) == te.numel()
        assert h["median"] == pytest.approx(np.median(te.numpy()), rel=1e-8)
        assert h["min"] == pytest.approx(te.min().item(), rel=1e-8)
    # the graph drawn is step 2's loss graph, with the engine's nodes
    assert len(d["drawing"].nodes) == len(engine_nodes(losses[1]))
    assert [v for _, v in xr.losses] == [loss.item() for loss in losses]
    assert sorted(d["explain"]) == [0, 1, 2, 3] and "Adam" in d["explain"][0]
    assert xr.names() == ["0.weight", "0.bias", "2.weight", "2.bias"]

    page = open(xr.write(tmp_path / "x.html"), encoding="utf-8").read()
    assert page.count("<svg class='hist'") == 4
    assert len(re.findall(r"<option value='\d+'>", page)) == 4
    assert page.count("<pre class='explain'") == 4
    full = page.split("id='graph-full'")[1].split("</svg>")[0]
    assert full.count('<g class="node"') == len(engine_nodes(losses[1]))
    for name in xr.names():
        assert f"<td>{name}</td>" in page
    _self_contained(page)


def _self_contained(page):
    """No request leaves the page: no src/href, no url() and no address but the SVG namespace."""
    assert not re.search(r"\b(src|href)\s*=", page)
    assert "url(http" not in page and "@import" not in page
    addresses = set(re.findall(r"https?://[^\s'\"<>)]+", page))
    assert addresses <= {"http://www.w3.org/2000/svg"}


def test_sampling_stride_doubles_under_the_cap():
    x, y = _data()
    model = _gs_model()
    opt = gs.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    with XRay(max_samples=8, doctor=False) as xr:
        _loop(gs, model, opt, x, y, 50)
    assert xr.steps == 50 and len(xr.losses) == 50
    assert 4 <= len(xr.samples) <= 8
    steps = [s["step"] for s in xr.samples]
    assert steps == list(range(1, 51, xr.every))  # every xr.every-th step from the first
    assert set(xr.samples[-1]["params"][0]["state"]) == {"momentum_buffer"}
    assert xr.detail["hist"] == {}  # SGD has no second moment


def test_doctor_findings_reach_the_page(tmp_path):
    x, y = _data()
    model = _gs_model()
    opt = gs.optim.SGD(model.parameters(), lr=0.01)
    with XRay() as xr:
        _loop(gs, model, opt, x, y, 6, zero=False)  # never zero_grad: gradients pile up
    codes = [f.code for f in xr.findings()]
    assert codes, "the doctor should see gradients that are never zeroed"
    page = open(xr.write(tmp_path / "x.html"), encoding="utf-8").read()
    assert page.count("class='finding'") == len(codes)
    assert f"[{codes[0]}]" in page


def test_hooks_are_removed():
    from gradstep.nn.modules.module import Module
    from gradstep.optim.optimizer import Optimizer, _global_optimizer_post_hooks

    before = (gs.Tensor.backward, Optimizer.zero_grad, Module.zero_grad, len(_global_optimizer_post_hooks))
    x, y = _data()
    model = _gs_model()
    with XRay():
        _loop(gs, model, gs.optim.SGD(model.parameters(), lr=0.01), x, y, 3)
    after = (gs.Tensor.backward, Optimizer.zero_grad, Module.zero_grad, len(_global_optimizer_post_hooks))
    assert after == before


def test_xray_command_on_the_seed_loop(tmp_path):
    out = tmp_path / "page.html"
    env = dict(os.environ, EPOCHS="2")
    r = subprocess.run([sys.executable, "-m", "gradstep", "xray", "--out", str(out),
                        os.path.join(ROOT, "examples", "seed_loop.py")],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "held-out accuracy" in r.stdout and f"wrote {out}" in r.stderr
    page = out.read_text(encoding="utf-8")
    for section in ("step", "graph", "params", "explain", "loss", "run", "doctor"):
        assert f"id='{section}'" in page
    _self_contained(page)


@pytest.mark.parametrize("argv, needle", [([], "no script"), (["--bogus", "x.py"], "unrecognized option"),
                                          (["--every", "0", "x.py"], "positive integer")])
def test_xray_command_errors(argv, needle, capsys):
    assert xray_script(argv) == 2
    assert needle in capsys.readouterr().err


def test_train_xray_and_accumulate(tmp_path, capsys):
    from gradstep.cli import main

    page = tmp_path / "t.html"
    code = main(["train", "--out", str(tmp_path / "run"), "--epochs", "1", "--accumulate", "3",
                 "--xray", str(page), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "accumulation check (3 micro-batches)" in out and "matches the whole batch" in out
    assert f"x-ray: wrote {page}" in out
    text = page.read_text(encoding="utf-8")
    assert "id='graph-full'" in text and "id='param-table'" in text


def test_large_graph_collapses_by_module_in_the_page(tmp_path):
    gs.manual_seed(0)
    blocks = [nn.Sequential(nn.Linear(6, 6), nn.LayerNorm(6), nn.Tanh()) for _ in range(8)]
    model = nn.Sequential(nn.Sequential(*blocks), nn.Linear(6, 2))
    opt = gs.optim.SGD(model.parameters(), lr=0.01)
    losses = []
    with XRay(doctor=False) as xr:
        for _ in range(3):
            loss = model(gs.randn(4, 6)).pow(2).mean()
            opt.zero_grad()
            losses.append(loss)
            loss.backward()
            opt.step()
    n_full = len(engine_nodes(losses[1]))
    collapsed = xr.detail["collapsed"]
    assert n_full > 40 and len(collapsed.nodes) <= 40
    # the deepest readable cut: one box per module inside the blocks (Linear, LayerNorm, Tanh)
    labels = sorted(n.name for n in collapsed.nodes if n.members > 1 or n.module)
    assert "0.3.1 (LayerNorm)" in labels and "1 (Linear)" in labels
    assert sum(n.members for n in collapsed.nodes) == n_full  # every engine node is in one box
    page = open(xr.write(tmp_path / "x.html"), encoding="utf-8").read()
    box = page.split("id='graph-collapsed'")[1].split("</svg>")[0]
    assert box.count('<g class="node') == len(collapsed.nodes)
    full = page.split("<details>")[1].split("</details>")[0]
    assert full.count('<g class="node"') == n_full
