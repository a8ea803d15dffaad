"""torch.hub's weight downloads and cache, against torch's, with file:// URLs (no network)."""

from __future__ import annotations

import hashlib
import importlib
import io

import pytest
import torch

import gradstep


@pytest.fixture
def hub_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(gradstep.hub, "_hub_dir", None)
    return tmp_path


def _weights_file(folder):
    buf = io.BytesIO()
    torch.save({"weight": torch.arange(4.0)}, buf)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    path = folder / f"net-{digest[:10]}.pth"
    path.write_bytes(data)
    return path, digest


def test_load_state_dict_from_url_downloads_once_into_torch_s_cache(hub_home, capsys):
    src, _ = _weights_file(hub_home)
    url = src.as_uri()
    got = gradstep.hub.load_state_dict_from_url(url, check_hash=True)
    assert got["weight"].tolist() == [0.0, 1.0, 2.0, 3.0]
    cached = hub_home / "home" / "hub" / "checkpoints" / src.name
    assert cached.read_bytes() == src.read_bytes()
    assert gradstep.hub.get_dir() == torch.hub.get_dir() == str(hub_home / "home" / "hub")
    assert f'Downloading: "{url}" to {cached}' in capsys.readouterr().out
    src.unlink()  # the cache serves it from now on, as torch's does
    model_zoo = importlib.import_module("gradstep.utils.model_zoo")
    assert model_zoo.load_url(url)["weight"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert "Downloading" not in capsys.readouterr().out


def test_a_download_with_the_wrong_hash_leaves_no_file(hub_home):
    src, digest = _weights_file(hub_home)
    bad = src.with_name("net-0123456789.pth")
    src.rename(bad)
    with pytest.raises(RuntimeError, match="invalid hash value"):
        gradstep.hub.load_state_dict_from_url(bad.as_uri(), check_hash=True)
    assert not list((hub_home / "home" / "hub" / "checkpoints").iterdir())
    gradstep.hub.set_dir(str(hub_home / "elsewhere"))
    assert gradstep.hub.get_dir() == str(hub_home / "elsewhere")


def test_hub_load_refuses_to_run_repository_code():
    with pytest.raises(NotImplementedError, match="hubconf"):
        gradstep.hub.load("pytorch/vision", "resnet18")
    assert importlib.import_module("gradstep.utils.model_zoo").load_url is \
        gradstep.hub.load_state_dict_from_url
