"""A server that cannot work does not start: the model archive, the database, Redis and the
production settings are checked first, and the error names what is wrong in one line."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers.http import free_port
from tests.helpers.project import PROJECT_ROOT


def run_module(module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def test_a_truncated_model_archive_is_named_and_nothing_starts(tmp_path):
    from bot.runtime.rasa_server import StartupError, check_model

    whole = write_archive(tmp_path / "whole.tar.gz", {"metadata.json": b"{}" * 50_000})
    truncated = tmp_path / "20260101-000000-broken.tar.gz"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(StartupError, match=str(truncated)):
        check_model(str(truncated))


def test_an_archive_that_is_not_a_rasa_model_is_refused(tmp_path):
    from bot.runtime.rasa_server import StartupError, check_model

    archive = write_archive(tmp_path / "other.tar.gz", {"readme.txt": b"hello"})
    with pytest.raises(StartupError, match="not a usable Rasa model archive"):
        check_model(str(archive))
    not_gzip = tmp_path / "plain.tar.gz"
    not_gzip.write_bytes(b"this was never a gzip file")
    with pytest.raises(StartupError, match="plain.tar.gz"):
        check_model(str(not_gzip))
    assert gzip  # (the stdlib module the archive format depends on)


def test_a_models_folder_without_an_archive_says_train_first(tmp_path):
    from bot.runtime.rasa_server import StartupError, check_model

    with pytest.raises(StartupError, match="run `rasa train`"):
        check_model(str(tmp_path))
    with pytest.raises(StartupError, match="not found"):
        check_model(str(tmp_path / "missing.tar.gz"))


def test_the_rasa_server_refuses_to_start_on_a_corrupt_model_with_one_clear_line(tmp_path):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    result = run_module("bot.runtime.rasa_server", "run", "--model", str(broken), "--port", "1")
    assert result.returncode == 2
    assert f"shopdesk: the Rasa server cannot start: {broken}" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_a_clear_error_with_the_password_hidden():
    from bot.runtime.rasa_server import StartupError, check_database

    url = f"postgresql://shopdesk:s3cret-pw@127.0.0.1:{free_port()}/shopdesk"
    with pytest.raises(StartupError) as raised:
        check_database(url)
    message = str(raised.value)
    assert "cannot be reached" in message and "127.0.0.1" in message
    assert "s3cret-pw" not in message and "***" in message


@pytest.mark.parametrize(
    "lock_store_type", ["redis", "bot.runtime.lock_store.AtomicRedisLockStore"]
)
def test_an_unreachable_lock_store_is_a_clear_error(tmp_path, lock_store_type):
    from bot.runtime.rasa_server import StartupError, check_lock_store

    port = free_port()
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        f"lock_store:\n  type: {lock_store_type}\n  url: 127.0.0.1\n  port: {port}\n"
    )
    with pytest.raises(StartupError, match=f"Redis lock store 127.0.0.1:{port} cannot be reached"):
        check_lock_store(str(endpoints))


def test_production_mode_lists_every_missing_setting():
    from bot.runtime.production import ProductionConfigError, production_environment

    with pytest.raises(ProductionConfigError) as raised:
        production_environment({"SHOPDESK_DB_URL": "postgresql://u:p@db/shopdesk"})
    for name in (
        "SHOPDESK_REDIS_HOST",
        "SHOPDESK_REDIS_PASSWORD",
        "RASA_AUTH_TOKEN",
        "SHOPDESK_ACTION_SERVER_TOKEN",
    ):
        assert name in str(raised.value)
    assert "SHOPDESK_DB_URL" not in str(raised.value)


def test_production_mode_refuses_sqlite():
    from bot.runtime.production import REQUIRED, ProductionConfigError, production_environment

    environ = {name: "x" for name in REQUIRED} | {"SHOPDESK_DB_URL": "sqlite:///a.db"}
    with pytest.raises(ProductionConfigError, match="PostgreSQL"):
        production_environment(environ)
    environ["SHOPDESK_DB_URL"] = "postgresql://u:p@db/shopdesk"
    assert production_environment(environ)["SHOPDESK_REDIS_PORT"] == "6379"


def test_shopdesk_up_stops_at_once_when_the_database_is_down(tmp_path):
    """Before training or starting anything: one line, exit status 2."""
    url = f"postgresql://shopdesk:pw@127.0.0.1:{free_port()}/shopdesk"
    env = {
        "SHOPDESK_DB_URL": url,
        "SHOPDESK_REDIS_HOST": "127.0.0.1",
        "SHOPDESK_REDIS_PASSWORD": "pw",
        "RASA_AUTH_TOKEN": "token",
        "SHOPDESK_METRICS_TOKEN": "token",
        "SHOPDESK_ACTION_SERVER_TOKEN": "token",
    }
    result = run_module("bot.cli", "up", "--production", env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "cannot be reached" in result.stderr and "Traceback" not in result.stderr


def test_shopdesk_up_production_says_what_is_missing():
    env = {name: "" for name in ("SHOPDESK_DB_URL", "RASA_AUTH_TOKEN", "SHOPDESK_REDIS_HOST")}
    result = run_module("bot.cli", "up", "--production", env=env)
    assert result.returncode == 2
    assert "production mode needs these environment variables" in result.stderr


def test_a_model_with_a_component_config_yml_no_longer_names_is_out_of_date(tmp_path):
    """Rasa's dry run misses a removed component; `shopdesk train` must not."""
    import shutil

    from bot.runtime.models import latest_model, model_has_the_configured_components

    model = latest_model()
    assert model is not None, "scripts/test.sh trains before pytest runs"
    for name in ("domain.yml", "config.yml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    shutil.copytree(PROJECT_ROOT / "data", tmp_path / "data")
    assert model_has_the_configured_components(model, tmp_path)

    config = (tmp_path / "config.yml").read_text()
    fallback = "  - name: FallbackClassifier\n    threshold: 0.4\n    ambiguity_threshold: 0.05\n"
    assert fallback in config
    (tmp_path / "config.yml").write_text(config.replace(fallback, ""))
    assert not model_has_the_configured_components(model, tmp_path)
