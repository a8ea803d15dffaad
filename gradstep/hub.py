"""``torch.hub``: pretrained weights by URL, cached where torch caches them.

``load_state_dict_from_url`` downloads a checkpoint once into ``get_dir()/checkpoints``
(``$TORCH_HOME/hub``, by default ``~/.cache/torch/hub``: the cache torch itself fills, so
weights torch already downloaded load without a network) and reads it with
``gradstep.load``, which never runs code from the file. ``torch.hub.load`` (code from a
GitHub repo's ``hubconf.py``) is not provided: it runs the repository's code.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import uuid
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = ["get_dir", "set_dir", "download_url_to_file", "load_state_dict_from_url", "load",
           "list", "help"]

ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")  # ``name-<sha256 prefix>.ext``
READ_DATA_CHUNK = 128 * 1024
_hub_dir = None


def _get_torch_home():
    return os.path.expanduser(os.getenv(
        ENV_TORCH_HOME, os.path.join(os.getenv(ENV_XDG_CACHE_HOME, DEFAULT_CACHE_DIR), "torch")))


def get_dir():
    """The hub cache: ``set_dir``'s folder, else ``$TORCH_HOME/hub``."""
    return _hub_dir if _hub_dir is not None else os.path.join(_get_torch_home(), "hub")


def set_dir(d):
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    """Download ``url`` to ``dst`` through a temporary file beside it, so that a broken
    download never replaces a good file; check the SHA-256 prefix when given."""
    dst = os.path.expanduser(dst)
    tmp = f"{dst}.{uuid.uuid4().hex}.partial"
    sha256 = hashlib.sha256() if hash_prefix is not None else None
    try:
        with urlopen(Request(url, headers={"User-Agent": "torch.hub"})) as u, open(tmp, "wb") as f:
            while True:
                chunk = u.read(READ_DATA_CHUNK)
                if not chunk:
                    break
                f.write(chunk)
                if sha256 is not None:
                    sha256.update(chunk)
        if sha256 is not None and not sha256.hexdigest().startswith(hash_prefix):
            raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                               f'"{sha256.hexdigest()}")')
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True,
                             check_hash=False, file_name=None, weights_only=False):
    """The checkpoint at ``url``, downloaded into the cache unless already there."""
    from .serialization import load as _load

    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    if filename in ("", ".", ".."):  # torch would load the cache folder (or its parent) as a file
        raise ValueError(f"load_state_dict_from_url: {url!r} names no file to cache the checkpoint in "
                         f"(its path ends in {filename or '/'!r}); pass file_name='NAME.pth'")
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached_file, match.group(1) if match else None,
                             progress=progress)
    return _load(cached_file, map_location=map_location, weights_only=weights_only)


def _runs_repository_code(*args, **kwargs):
    raise NotImplementedError(
        "torch.hub.load/list/help run a repository's hubconf.py, which gradstep does not do; "
        "build the model from its source and load its weights with "
        "torch.hub.load_state_dict_from_url(url)")


load = list = help = _runs_repository_code  # noqa: A001 - torch's names
