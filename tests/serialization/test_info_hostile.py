"""``gradstep info`` on hostile files: bounded walk, specific errors, nothing raw reaches the terminal."""

import time

import gradstep as gs
from gradstep.cli import main

from .craft import Pk, torch_zip


def _info(capsys, path):
    t = time.perf_counter()
    code = main(["info", str(path)])
    assert time.perf_counter() - t < 2
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _train(**changes):
    ckpt = {"format": "gradstep-train/1", "model_name": "mlp", "data": "digits", "in_shape": [64], "num_classes": 10,
            "config": {"optimizer": "SGD", "scheduler": "StepLR"}, "epoch": 3, "model": {"w": gs.zeros(2, 3)},
            "optimizer": {"state": {}, "param_groups": []}, "history": [], "best_acc": 0.975}
    ckpt.update(changes)
    return ckpt


def test_honest_files_print_as_before(tmp_path, capsys):
    gs.save({"model": {"w": gs.zeros(2, 3)}, "epoch": 7, "lr": 0.1, "name": "run", "betas": (0.9, 0.99)},
            tmp_path / "a.gs")
    code, out, _ = _info(capsys, tmp_path / "a.gs")
    assert code == 0
    assert out.splitlines()[1:] == ["5 entries:", "  model.w: tensor [2, 3] float32", "  epoch: 7", "  lr: 0.1",
                                    "  name: 'run'", "  betas: (0.9, 0.99)"]
    gs.save(_train(), tmp_path / "t.gs")
    code, out, _ = _info(capsys, tmp_path / "t.gs")
    assert code == 0 and out.splitlines()[1:] == [
        "gradstep train checkpoint: model mlp on digits, epoch 3, 6 model values, best test accuracy 97.50%",
        "optimizer SGD with 0 state entries; scheduler StepLR", "model state:", "  w: tensor [2, 3] float32"]


def test_a_huge_int_is_summarised(tmp_path, capsys):
    path = _write(tmp_path, "big.pt", torch_zip(Pk().val({"n": 10 ** 4800}).bytes()))
    code, out, err = _info(capsys, path)
    assert code == 0 and "n: <int of about 4801 digits>" in out, err


def test_a_damaged_train_checkpoint_is_a_specific_error(tmp_path, capsys):
    gs.save(_train(optimizer={"state": 5}), tmp_path / "t.gs")
    code, out, err = _info(capsys, tmp_path / "t.gs")
    assert code == 2 and "damaged gradstep train checkpoint: optimizer state is int" in err
    assert "internal error" not in err and out.startswith(str(tmp_path / "t.gs"))


def test_strings_from_the_file_are_escaped(tmp_path, capsys):
    evil = "w\n  fake: tensor [1] float32\x1b[2K\x1b]0;title\x07\u202e"
    gs.save({evil: gs.zeros(2), "b": 1}, tmp_path / "a.gs")
    code, out, _ = _info(capsys, tmp_path / "a.gs")
    assert code == 0 and len(out.splitlines()) == 4
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert r"w\n  fake: tensor [1] float32\x1b[2K\x1b]0;" in out
    gs.save(_train(model_name="mlp\x1b[2J", data="x\nFAKE", config={"optimizer": "sgd\x1b]0;t\x07"}),
            tmp_path / "t.gs")
    code, out, _ = _info(capsys, tmp_path / "t.gs")
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "FAKE" not in out.splitlines()[2]
    assert r"model mlp\x1b[2J on x\nFAKE" in out and r"optimizer sgd\x1b]0;t\x07 with" in out


def test_a_dag_of_dicts_is_walked_once(tmp_path, capsys):
    p = Pk().op(b"}q\x00")
    for k in range(1, 61):  # d_k = {"a": d_{k-1}, "b": d_{k-1}}: 2**60 paths
        p.op(b"}(").val("a").op(b"h" + bytes([k - 1])).val("b").op(b"h" + bytes([k - 1])).op(b"uq" + bytes([k]))
    code, out, _ = _info(capsys, _write(tmp_path, "dag.pt", torch_zip(p.bytes())))
    assert code == 0 and "40 entries (first 40)" in out and "the same object as" in out
    assert max(len(line) for line in out.splitlines()) < 400


def test_deep_data_prints_without_recursion(tmp_path, capsys):
    deep = "x"
    for _ in range(900):
        deep = {"k": deep}
    gs.save(deep, tmp_path / "deep.pt")
    code, out, _ = _info(capsys, tmp_path / "deep.pt")
    assert code == 0 and out.splitlines()[2].startswith("  ...k.k.k") and out.splitlines()[2].endswith(": 'x'")


def test_data_that_contains_itself_is_one_error_line(tmp_path, capsys):
    path = _write(tmp_path, "self.pt", torch_zip(Pk().op(b"}q\x00").val("me").op(b"h\x00s").bytes()))
    code, _, err = _info(capsys, path)
    assert code == 2 and "contains itself" in err and len(err.splitlines()) == 1


def test_a_huge_tensor_as_the_format_field_is_not_compared(tmp_path, capsys):
    pkl = Pk().op(b"}").val("format").tensor(numel=1, size=(1 << 40,), stride=(0,)).op(b"s").bytes()
    path = _write(tmp_path, "fmt.pt", torch_zip(pkl, {"0": bytes(4)}))
    code, out, _ = _info(capsys, path)
    assert code == 0 and "format: tensor [1099511627776] float32" in out
