from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from api.config import build_settings
from api.settings import Settings


def test_change_retention_defaults_to_90_days() -> None:
    settings = build_settings(Settings, None, {})
    assert isinstance(settings, Settings)
    assert settings.change_retention == timedelta(days=90)


def test_change_retention_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "stagegraph.yaml"
    config.write_text("changeRetention: 7d\n")
    settings = build_settings(Settings, config, {})
    assert isinstance(settings, Settings)
    assert settings.change_retention == timedelta(days=7)


def test_change_retention_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGEGRAPH_CHANGE_RETENTION", "12h")
    settings = build_settings(Settings, None, {})
    assert isinstance(settings, Settings)
    assert settings.change_retention == timedelta(hours=12)
