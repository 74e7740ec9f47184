"""The source registry: the contract stands alone, the registry alone imports the sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from ingestors.registry import SOURCE_TYPES

ROOT = Path(__file__).resolve().parents[2]
SOURCE_PACKAGES = ("aws", "git", "github", "gitlab", "jenkins", "location")


def _imported_by(module: str) -> set[str]:
    """The ``ingestors.*`` modules a fresh interpreter has loaded after importing ``module``."""
    code = (
        f"import sys, {module}; "
        "print('\\n'.join(m for m in sys.modules if m.startswith('ingestors.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_the_contract_imports_no_source_package() -> None:
    loaded = _imported_by("ingestors.contract")

    assert not {m for m in loaded if m.split(".")[1] in SOURCE_PACKAGES}


def test_no_source_package_imports_the_registry() -> None:
    for package in SOURCE_PACKAGES:
        assert "ingestors.registry" not in _imported_by(f"ingestors.{package}"), package


def test_the_cli_lists_every_registered_source_type() -> None:
    result = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert SOURCE_TYPES.names() == ("aws", "git", "github", "gitlab", "jenkins", "location")
    assert f"({', '.join(SOURCE_TYPES.names())}:" in " ".join(result.output.split())
