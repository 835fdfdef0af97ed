"""The megadesk-stripe wheel as production installs it: the host and stripe, nothing else.

Builds the host's and the plugin's wheels, installs them into a fresh virtualenv with no test
tools (dependencies from the package index), and renders a Stripe panel through the host there,
against the emulator started here. About a minute; marked ``wheels``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from stripe_emulator.server import run_emulator

ROOT = Path(__file__).resolve().parents[4]
SCRIPT = Path(__file__).with_name("sidebar_in_clean_venv.py")
KEY_PERMISSIONS = {
    "customers": "read",
    "payment_intents": "read",
    "charges": "read",
    "refunds": "write",
    "subscriptions": "write",
    "invoices": "read",
    "products": "read",
    "disputes": "read",
}

pytestmark = pytest.mark.wheels


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _metadata(wheel: Path) -> tuple[list[str], list[str]]:
    """The wheel's Requires-Dist entries and its top-level packages."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(meta).decode())
    top = sorted({n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")})
    return message.get_all("Requires-Dist") or [], top


def _sources(destination: Path) -> tuple[Path, Path]:
    """Copies of the host's and the plugin's sources: setuptools builds in the source folder, and
    a stale build/ or *.egg-info there could slip files into the wheel that the tree no longer has."""
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "tests", "benchmarks")
    host, plugin = destination / "megadesk-core", destination / "megadesk-stripe"
    for folder in (host, plugin):
        folder.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, host / name)
        shutil.copy2(ROOT / "plugins" / "stripe" / name, plugin / name)
    shutil.copytree(ROOT / "megadesk_core", host / "megadesk_core", ignore=skip)
    shutil.copytree(ROOT / "plugins" / "stripe" / "megadesk_stripe", plugin / "megadesk_stripe", ignore=skip)
    return host, plugin


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    host, plugin = _sources(tmp_path_factory.mktemp("sources"))
    out = tmp_path_factory.mktemp("wheelhouse")
    # setuptools from this environment when it has one (faster, offline); else pip fetches it.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *isolation, "-w", out, host, plugin)
    return out


def test_the_stripe_wheel_depends_on_the_host_and_stripe_only(wheelhouse):
    (wheel,) = wheelhouse.glob("megadesk_stripe-*.whl")
    requires, packages = _metadata(wheel)
    assert sorted(Requirement(r).name for r in requires) == ["megadesk-core", "stripe"]
    assert packages == ["megadesk_stripe"]


def test_the_stripe_panel_renders_through_the_host_in_a_clean_venv(wheelhouse, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "virtualenv", "--quiet", "--no-setuptools", "--no-wheel", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *wheelhouse.glob("*.whl"))
    installed = {p["name"].lower() for p in json.loads(_run(python, "-m", "pip", "list", "--format=json"))}
    assert {"megadesk-core", "megadesk-stripe", "stripe"} <= installed
    assert not installed & {"pytest", "megadesk-stripe-emulator", "vcrpy", "jsonschema"}, installed

    with run_emulator(seed=True) as emulator:
        assert emulator.demo is not None
        key = emulator.create_restricted_key(KEY_PERMISSIONS)
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        # cwd: away from the checkout, so nothing is imported from the source tree.
        output = _run(python, SCRIPT, data_dir, emulator.base_url, key, emulator.demo.ada.email, cwd=tmp_path)
    sidebar = json.loads(output.strip().splitlines()[-1])
    (panel,) = sidebar["panels"]
    assert (panel["integration"], panel["status"]) == ("stripe", "ok"), panel
    assert emulator.demo.ada.email in json.dumps(panel) or (emulator.demo.ada.name or "") in json.dumps(panel)
