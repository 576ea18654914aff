"""What a team installs: the version in one place, the type marker, the license, YAML only with the cli extra."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from blue_green_ecs._version import __version__
from blue_green_ecs.cli.main import main

from .support import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_command_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"blue-green-ecs {__version__}\n"


def test_the_version_is_written_once() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "blue_green_ecs._version.__version__"}


def test_the_package_ships_its_type_marker_and_license() -> None:
    assert (ROOT / "blue_green_ecs" / "py.typed").is_file()
    assert PYPROJECT["tool"]["setuptools"]["package-data"]["blue_green_ecs"] == ["py.typed"]
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert "Apache License\n                           Version 2.0" in (ROOT / "LICENSE").read_text()
    # The SPDX string needs setuptools 77 (PEP 639); older ones reject it.
    assert PYPROJECT["build-system"]["requires"] == ["setuptools>=77.0.3"]


def test_the_library_does_not_require_yaml_the_cli_extra_does() -> None:
    project = PYPROJECT["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("pyyaml")]
    assert project["optional-dependencies"]["cli"] == ["pyyaml>=6.0.1,<7", "boto3>=1.34"]


def test_export_without_pyyaml_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: PyYAML is not installed (None in sys.modules makes `import yaml` raise ImportError)
    monkeypatch.setitem(sys.modules, "yaml", None)
    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')

    # when
    code = main(["export", "--dir", str(tmp_path), "--out", str(tmp_path / "out")])

    # then: it stops before synthesizing, with the fix
    assert code == 1
    assert capsys.readouterr().err == (
        "blue-green-ecs: error: Writing YAML (appspec.yaml, --format yaml) needs PyYAML: "
        "pip install 'blue-green-ecs[cli]'.\n"
    )
    assert not (tmp_path / "out").exists()


def test_the_declared_floor_is_the_version_make_test_min_installs() -> None:
    pins = dict(
        line.split("==")
        for line in (ROOT / "tests" / "requirements-min.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert [d for d in PYPROJECT["project"]["dependencies"] if d.startswith("aws-cdk-lib")] == [
        f"aws-cdk-lib>={pins['aws-cdk-lib']},<3"
    ]
    assert "constructs>=10.5.0,<11" in PYPROJECT["project"]["dependencies"]
