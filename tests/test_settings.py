"""Settings: built once, from defaults, a TOML file and YOCHO_ environment variables."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from features.catalog import threshold_values
from yocho.settings import load_settings

README = Path(__file__).parents[1] / "README.md"


def test_readme_configuration_example_loads_and_names_real_thresholds(tmp_path: Path, monkeypatch):
    block = re.search(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    config = tmp_path / "yocho.toml"
    config.write_text(block, encoding="utf-8")
    monkeypatch.setenv("YOCHO_CONFIG", str(config))
    monkeypatch.setenv("YOCHO_INGEST__MAX_REJECT_RATIO", "0.1")  # the environment beats the file
    settings = load_settings()
    assert str(settings.data_dir) == "/srv/yocho" and settings.duckdb_memory_limit == "8GB"
    assert settings.ingest.max_reject_ratio == 0.1
    assert threshold_values(settings.features.thresholds)["rep_dpd_30__min_days"] == 45
    assert settings.models.test_months == 6 and settings.models.bands["high"] == 0.10


def test_bands_must_start_at_zero_and_increase():
    from yocho.settings import ModelSettings

    with pytest.raises(Exception, match="strictly increase"):
        ModelSettings(bands={"low": 0.0, "high": 0.1, "watch": 0.05})
    with pytest.raises(Exception, match="start at 0"):
        ModelSettings(bands={"watch": 0.03, "high": 0.1})


def test_settings_are_frozen_and_refuse_unknown_keys(tmp_path: Path, monkeypatch):
    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(ValidationError):
        settings.data_dir = Path("/elsewhere")
    with pytest.raises(Exception, match="not_a_setting"):
        load_settings(not_a_setting=1)


def test_the_model_registry_defaults_to_the_data_dir_and_can_point_elsewhere(tmp_path: Path, monkeypatch):
    assert load_settings(data_dir=tmp_path).models_dir == tmp_path / "models"
    assert load_settings(data_dir=tmp_path, registry_dir=tmp_path / "central").models_dir == tmp_path / "central"
    monkeypatch.setenv("YOCHO_REGISTRY_DIR", str(tmp_path / "from-env"))
    assert load_settings(data_dir=tmp_path).models_dir == tmp_path / "from-env"
