"""`megadesk new-plugin`: the generated distribution installs, passes its own tests and the
contract check, and shows in `megadesk integrations list`, without an edit."""

from __future__ import annotations

import importlib.util
import subprocess

import pytest
from click.testing import CliRunner
from layered_venv import clean_environment, layered_venv

from megadesk_core.cli import main


def _run(args: list[str], cwd, env) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_a_generated_plugin_passes_its_tests_and_the_contract_check(tmp_path):
    created = CliRunner().invoke(
        main, ["new-plugin", "order_desk", "--title", "Order Desk", "--directory", str(tmp_path)]
    )
    assert created.exit_code == 0, created.output
    root = tmp_path / "megadesk-order-desk"
    assert f"created {root}/" in created.output
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert files == {
        "README.md",
        "pyproject.toml",
        "megadesk_order_desk/__init__.py",
        "megadesk_order_desk/client.py",
        "megadesk_order_desk/plugin.py",
        "megadesk_order_desk/py.typed",
        "tests/conftest.py",
        "tests/fake_api.py",
        "tests/test_order_desk.py",
    }
    assert 'order_desk = "megadesk_order_desk.plugin"' in (root / "pyproject.toml").read_text()
    plugin = (root / "megadesk_order_desk" / "plugin.py").read_text()
    assert "api_key: SecretStr" in plugin and "context.http" in plugin and "handler=add_note" in plugin

    bin_dir = layered_venv(tmp_path / "venv")
    env = clean_environment(bin_dir)
    python = str(bin_dir / "python")
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    installed = _run([python, "-m", "pip", "install", *isolation, "-e", str(root)], tmp_path, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    tests = _run([python, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"], root, env)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert "5 passed" in tests.stdout

    contract = _run([str(bin_dir / "megadesk"), "contract", "order_desk"], tmp_path, env)
    assert contract.returncode == 0, contract.stdout + contract.stderr
    assert "integration 'order_desk' meets the Megadesk plugin contract" in contract.stdout

    listed = _run([str(bin_dir / "megadesk"), "--log-level", "warning", "integrations", "list"], tmp_path, env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "order_desk\tOrder Desk\tentry point order_desk = megadesk_order_desk.plugin (megadesk-order-desk)" in (
        listed.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new-plugin", "Bad-Name"], "cannot be an integration name"),
        (["new-plugin", "acme", "--title", 'Say "hi"'], "must be one line without quotes"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_written(tmp_path, args, message):
    result = CliRunner().invoke(main, [*args, "--directory", str(tmp_path)])
    assert result.exit_code == 1
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "megadesk-acme").mkdir()
    (tmp_path / "megadesk-acme" / "mine.txt").write_text("keep")
    result = CliRunner().invoke(main, ["new-plugin", "acme", "--directory", str(tmp_path)])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert [p.name for p in (tmp_path / "megadesk-acme").iterdir()] == ["mine.txt"]
