"""Shared harness of the training-step benchmarks (bench/mlp.py, cnn.py, transformer.py).

Each (framework, case) runs in its own subprocess, so peak resident memory
(``ru_maxrss``) is that framework's alone and one library's threads or caches
cannot slow the other. All frameworks start from the same initial weights
(drawn once by torch, passed as an .npz file) and train on the same data.
The step is the classic one: forward, loss, zero_grad, backward, optimizer step.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- the cases
CASES = {
    "mlp-64": dict(model="mlp", batch=64, opt="sgd"),
    "mlp-512": dict(model="mlp", batch=512, opt="sgd"),
    "lenet-64": dict(model="lenet", batch=64, opt="sgd"),
    "widecnn-128": dict(model="widecnn", batch=128, opt="sgd"),
    "transformer-32": dict(model="transformer", batch=32, opt="adamw"),
}
SEQ, VOCAB, WIDTH, HEADS, LAYERS = 64, 256, 128, 4, 4


def build(lib, model):
    nn = lib.nn
    if model == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    if model == "lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84),
                             nn.ReLU(), nn.Linear(84, 10))
    if model == "widecnn":
        return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(64 * 8 * 8, 10))
    if model == "transformer":
        return TinyLM(lib)
    raise ValueError(model)


def TinyLM(lib):  # noqa: N802 - builds a Module subclass for either library
    nn = lib.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, WIDTH)
            self.pos = nn.Embedding(SEQ, WIDTH)
            layer = nn.TransformerEncoderLayer(WIDTH, HEADS, dim_feedforward=4 * WIDTH, dropout=0.0,
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(WIDTH)
            self.head = nn.Linear(WIDTH, VOCAB)
            self.register_buffer("mask", lib.triu(lib.full((SEQ, SEQ), float("-inf")), diagonal=1))

        def forward(self, idx):
            x = self.tok(idx) + self.pos(lib.arange(idx.shape[1]))
            x = self.blocks(x, mask=self.mask)
            return self.head(self.norm(x))

    return LM()


def data(case, seed=0):
    rng = np.random.default_rng(seed)
    spec = CASES[case]
    b = spec["batch"]
    if spec["model"] == "transformer":
        tokens = rng.integers(0, VOCAB, (b, SEQ + 1))
        return tokens[:, :-1].astype(np.int64), tokens[:, 1:].astype(np.int64)
    shape = {"mlp": (b, 784), "lenet": (b, 1, 28, 28), "widecnn": (b, 3, 32, 32)}[spec["model"]]
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, b).astype(np.int64)


def make_weights(case, path):
    import torch

    torch.manual_seed(0)
    model = build(torch, CASES[case]["model"])
    np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})


# ---------------------------------------------------------------- one framework, one case
def _torch_like_step(lib, case, weights):
    spec = CASES[case]
    model = build(lib, spec["model"])
    model.load_state_dict({k: lib.tensor(weights[k]) for k in weights.files})
    x_np, y_np = data(case)
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    criterion = lib.nn.CrossEntropyLoss()
    if spec["opt"] == "sgd":
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        opt = lib.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        out = model(x)
        loss = criterion(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def _tinygrad_step(case, weights):
    from tinygrad import Tensor, nn
    from tinygrad.helpers import Context
    from tinygrad.nn.optim import SGD

    spec = CASES[case]
    w = {k: weights[k] for k in weights.files}
    x_np, y_np = data(case)
    x, y = Tensor(x_np), Tensor(y_np)
    if spec["model"] == "mlp":
        layers = [nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)]
        for i, lin in zip((0, 2, 4), layers):
            lin.weight, lin.bias = Tensor(w[f"{i}.weight"]), Tensor(w[f"{i}.bias"])

        def forward(t):
            return layers[2](layers[1](layers[0](t).relu()).relu())
    elif spec["model"] == "lenet":
        c1, c2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        fcs = [nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, 10)]
        for i, m in zip((0, 3, 7, 9, 11), (c1, c2, *fcs)):
            m.weight, m.bias = Tensor(w[f"{i}.weight"]), Tensor(w[f"{i}.bias"])
        layers = [c1, c2, *fcs]

        def forward(t):
            t = c2(c1(t).relu().max_pool2d(2)).relu().max_pool2d(2).flatten(1)
            return fcs[2](fcs[1](fcs[0](t).relu()).relu())
    elif spec["model"] == "widecnn":
        c1, c2, fc = nn.Conv2d(3, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1), nn.Linear(4096, 10)
        for i, m in zip((0, 3, 7), (c1, c2, fc)):
            m.weight, m.bias = Tensor(w[f"{i}.weight"]), Tensor(w[f"{i}.bias"])
        layers = [c1, c2, fc]

        def forward(t):
            return fc(c2(c1(t).relu().max_pool2d(2)).relu().max_pool2d(2).flatten(1))
    else:
        return None
    params = [p for m in layers for p in (m.weight, m.bias)]
    opt = SGD(params, lr=0.01, momentum=0.9)

    def step():
        with Context(TRAINING=1):
            loss = forward(x).sparse_categorical_crossentropy(y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.realize()

    return step


def measure(framework, case, weights_path, min_time=2.0, min_steps=5):
    """Steps per second and peak RSS of one framework on one case (run in a fresh process)."""
    weights = np.load(weights_path)
    if framework == "tinygrad":
        step = _tinygrad_step(case, weights)
        if step is None:
            return None
    else:
        lib = __import__(framework)
        if framework == "torch":
            lib.manual_seed(0)
        step = _torch_like_step(lib, case, weights)
    for _ in range(3):
        step()
    n, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while True:
        loss = step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= min_steps:
            break
    cpu = time.process_time() - cpu_start
    return {"steps_per_s": n / elapsed, "cpu_ms": cpu / n * 1e3, "peak_rss_mb": _peak_rss_mb(),
            "loss": float(loss.item() if hasattr(loss, "item") else loss.numpy())}


def _peak_rss_mb():
    """This process's peak resident set size in MB.

    Linux keeps ``ru_maxrss`` across ``exec``, so a child of a process that imported
    torch would report at least the parent's peak; ``VmHWM`` belongs to the child's own
    address space.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _subprocess(framework, case, weights_path):
    cmd = [sys.executable, os.path.join(HERE, "_train.py"), framework, case, weights_path]
    env = dict(os.environ, DEV="CPU") if framework == "tinygrad" else None  # tinygrad's CPU device needs clang
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def _best(runs):
    """The fastest of repeated runs of one framework (the least disturbed by other load)."""
    ok = [r for r in runs if "error" not in r]
    return max(ok, key=lambda r: r["steps_per_s"]) if ok else runs[-1]


def main(cases, title, repeats=None):
    """Run every framework on every case, ``repeats`` times in alternation; print the table.

    Each (framework, case) runs in a fresh process; the frameworks alternate so a
    change in background load hits all of them, and the fastest run of each is kept.
    ``cpu ms`` is CPU time per step (all threads), a steadier figure on a busy machine.
    """
    repeats = repeats or int(os.environ.get("BENCH_REPEATS", "3"))  # this VM swings by up to 25%
    frameworks = ["gradstep", "torch"] + (["tinygrad"] if _have("tinygrad") else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            path = os.path.join(tmp, f"{case}.npz")
            make_weights(case, path)
            fws = [fw for fw in frameworks
                   if not (fw == "tinygrad" and CASES[case]["model"] == "transformer")]
            runs = {fw: [] for fw in fws}
            for _ in range(repeats):
                for fw in fws:
                    runs[fw].append(_subprocess(fw, case, path))
            rows.append((case, {fw: _best(r) for fw, r in runs.items()}))
    import torch

    print(f"{title} — {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f}, best of {repeats}")
    print("steps/s: higher is better; ratio = gradstep steps/s / torch steps/s; cpu ms = CPU time "
          "per step (cpu ratio = torch cpu / gradstep cpu); RSS = gradstep peak RSS / torch's")
    head = (f"{'case':16s} {'gradstep/s':>11s} {'torch/s':>9s} {'ratio':>6s} {'gs cpu ms':>10s} "
            f"{'torch cpu ms':>13s} {'cpu ratio':>9s} {'gs MB':>7s} {'torch MB':>9s} {'RSS':>5s}")
    if "tinygrad" in frameworks:
        head += f" {'tinygrad/s':>11s} {'gs/tg':>8s} {'tg MB':>7s}"
    print(head)
    for case, res in rows:
        g, t = res["gradstep"], res["torch"]
        if "error" in g or "error" in t:
            print(f"{case:16s} error: {g.get('error') or t.get('error')}")
            continue
        line = (f"{case:16s} {g['steps_per_s']:11.1f} {t['steps_per_s']:9.1f} "
                f"{g['steps_per_s'] / t['steps_per_s']:6.2f} {g['cpu_ms']:10.1f} {t['cpu_ms']:13.1f} "
                f"{t['cpu_ms'] / g['cpu_ms']:9.2f} {g['peak_rss_mb']:7.0f} {t['peak_rss_mb']:9.0f} "
                f"{g['peak_rss_mb'] / t['peak_rss_mb']:5.2f}")
        tg = res.get("tinygrad")
        if "tinygrad" in frameworks:
            if tg and "error" not in tg:
                line += (f" {tg['steps_per_s']:11.1f} {g['steps_per_s'] / tg['steps_per_s']:8.2f} "
                         f"{tg['peak_rss_mb']:7.0f}")
            else:
                line += f" {'n/a':>11s}"
        print(line)
    return rows


if __name__ == "__main__":
    fw, case, wpath = sys.argv[1:4]
    print(json.dumps(measure(fw, case, wpath)))
