"""A throwaway virtual environment layered over the test one: it sees this environment's packages
(megadesk-core and the test tools) but installs into its own, so a test can ``pip install -e``
a plugin the way a reader would and leave this environment untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path


def layered_venv(path: Path) -> Path:
    """A virtual environment that sees this one's packages but installs into its own."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    bin_dir = path / "bin"
    python = bin_dir / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    host_site = sysconfig.get_paths()["purelib"]
    Path(site, "_megadesk_host_env.pth").write_text(f"import site; site.addsitedir({host_site!r})\n", encoding="utf-8")
    # What installing megadesk-core into it would put on PATH.
    script = bin_dir / "megadesk"
    script.write_text(
        f"#!{python}\nimport sys\nfrom megadesk_core.cli import main\nsys.exit(main())\n", encoding="utf-8"
    )
    script.chmod(0o755)
    return bin_dir


def clean_environment(bin_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEGADESK_", "PYTEST_", "PYTHON", "VIRTUAL_ENV", "COV_CORE"))
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    return env
