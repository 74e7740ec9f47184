"""The ``notify:`` setting: receivers read from the config file (secrets from the
environment), and every mistake refused with the file, the line, the entry and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.config import ConfigError, build_settings
from api.settings import Settings


def problems(tmp_path: Path, text: str) -> list[str]:
    config = tmp_path / "stagegraph.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        build_settings(Settings, config, {})
    return caught.value.problems


def test_receivers_come_from_the_config_file_with_secrets_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "from-the-environment")
    config = tmp_path / "stagegraph.yaml"
    config.write_text(
        "notify:\n"
        "  - url: https://hooks.example.com/stagegraph\n"
        '    secret: "${HOOK_SECRET}"\n'
        "  - url: http://10.0.0.5:9000/runs\n"
        "    events: [run.finished]\n"
        "    secret: another-secret\n"
        "    attempts: 2\n"
        "    backoff: 0.5\n"
    )

    settings = build_settings(Settings, config, {})

    assert isinstance(settings, Settings)
    first, second = settings.notify
    assert first.secret.get_secret_value() == "from-the-environment"
    assert first.events == ("entity.changed", "run.finished")
    assert (first.attempts, first.backoff, first.timeout) == (5, 1.0, 10.0)
    assert (second.events, second.attempts, second.backoff) == (("run.finished",), 2, 0.5)
    assert (second.host, second.cursor) == ("10.0.0.5:9000", "notify:http://10.0.0.5:9000/runs")
    assert "from-the-environment" not in repr(settings)


def test_a_bad_url_an_unknown_event_and_a_short_secret_are_each_named(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "notify:\n"
        "  - url: hooks.example.com/stagegraph\n"
        "    secret: long-enough-secret\n"
        "  - url: https://hooks.example.com/b\n"
        "    events: [entity.changed, run.started]\n"
        "    secret: long-enough-secret\n"
        "  - url: https://hooks.example.com/c\n"
        "    secret: short\n"
        "    attempts: 0\n",
    )

    where = str(tmp_path / "stagegraph.yaml")
    assert found[0].startswith(f"{where}:2: notify[0].url: 'hooks.example.com/stagegraph' is")
    assert "absolute http:// or https:// URL" in found[0]
    assert found[1] == (
        f"{where}:5: notify[1].events: unknown event 'run.started': the events are "
        "entity.changed, run.finished"
    )
    assert found[2].startswith(f"{where}:8: notify[2].secret: a notify secret must be at least 8")
    assert found[3].startswith(f"{where}:9: notify[2].attempts: ")
    assert len(found) == 4


def test_an_unset_secret_variable_and_a_receiver_listed_twice_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    unset = problems(
        tmp_path,
        'notify:\n  - url: https://a.example.com/h\n    secret: "${NOT_SET_ANYWHERE}"\n',
    )
    twice = problems(
        tmp_path,
        "notify:\n"
        "  - {url: 'https://a.example.com/h', secret: long-enough-secret}\n"
        "  - {url: 'https://a.example.com/h', secret: long-enough-secret}\n",
    )

    assert any("${NOT_SET_ANYWHERE} is not set in the environment" in p for p in unset)
    assert twice == [
        f"{tmp_path / 'stagegraph.yaml'}:1: notify: https://a.example.com/h is listed twice: "
        "give each receiver one entry (its events list can name both events)"
    ]
