"""The x-ray page in a real browser (headless Chromium): drawn, scripted, no console errors.

``.ci/install-browser`` installs Debian's ``chromium``; without a browser these tests skip.
"""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.viz.graph import engine_nodes
from gradstep.viz.xray import XRay

BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no headless Chromium found; run "
                                "`.ci/install-browser` (apt-get install chromium) to run the browser tests")


def _chromium(tmp_path, *args):
    cmd = [BROWSER, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=3000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=tmp_path)


def _console_errors(stderr):
    return [line for line in stderr.splitlines()
            if "Uncaught" in line or ("CONSOLE" in line and "ERROR" in line)]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xray")
    gs.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = gs.optim.AdamW(model.parameters(), lr=1e-2)
    crit = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    losses = []
    with XRay() as xr:
        for _ in range(6):
            x = gs.from_numpy(rng.standard_normal((12, 8)).astype(np.float32))
            y = gs.from_numpy(rng.integers(0, 3, 12))
            opt.zero_grad()
            loss = crit(model(x), y)
            losses.append(loss)
            loss.backward()
            opt.step()
    path = xr.write(tmp / "xray.html")
    return path, len(engine_nodes(losses[1])), len(list(model.parameters()))


def test_page_renders_with_its_numbers(page, tmp_path):
    path, n_nodes, n_params = page
    r = _chromium(tmp_path, "--dump-dom", f"file://{path}")
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    assert 'data-ready="1"' in dom  # the page's script ran to the end
    assert _console_errors(r.stderr) == []
    graph = dom.split('id="graph-full"')[1].split("</svg>")[0]
    assert len(re.findall(r'<g class="node"', graph)) == n_nodes  # as many boxes as engine nodes
    assert len(re.findall(r'<svg class="hist"', dom)) == n_params  # AdamW: one histogram each
    # the script shows the breakdown of the selected parameter only
    pres = re.findall(r'<pre class="explain" id="explain-(\d+)"( hidden="")?', dom)
    assert len(pres) == n_params and [bool(h) for _, h in pres] == [False] + [True] * (n_params - 1)


def test_screenshot_is_drawn(page, tmp_path):
    path, _, _ = page
    shot = tmp_path / "shot.png"
    r = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", f"file://{path}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert _console_errors(r.stderr) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt = pytest.importorskip("matplotlib.pyplot")
    img = plt.imread(str(shot))
    assert img.shape[:2] == (1600, 1200)
    # not a blank page: many pixel values, and some dark (text) ones
    assert len(np.unique(img[..., :3].reshape(-1, 3), axis=0)) > 50
    assert (img[..., :3].mean(axis=-1) < 0.3).sum() > 1000


def test_console_errors_are_caught(tmp_path):
    """The check above can fail: a page whose script throws shows up in the log."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    r = _chromium(tmp_path, "--dump-dom", f"file://{bad}")
    assert _console_errors(r.stderr), r.stderr[-2000:]
    assert os.path.exists(bad)
