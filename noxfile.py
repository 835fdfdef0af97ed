"""Developer and CI tasks. `nox` alone runs lint and tests (what CI runs).

nox -s demo      # the demo: app + Stripe emulator with demo data (README command one)
nox              # lint + tests (README command two)
nox -s record    # re-record the Stripe cassettes (see plugins/stripe/tests/README.md)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
# Every distribution in the repository, installed the way a user installs a plugin: by its
# own pyproject, so that the host finds the plugins through their entry points.
DISTRIBUTIONS = ["plugins/stripe", "plugins/stripe-emulator", "plugins/lookup", "tests/plugins/sample"]
TYPED_PACKAGES = [
    "megadesk_core",
    "plugins/stripe/megadesk_stripe",
    "plugins/stripe-emulator/stripe_emulator",
    "plugins/stripe-emulator/megadesk_demo",
    "plugins/lookup/megadesk_lookup",
]
PYTHON = "3.11"
CHROMIUM = "/usr/bin/chromium"


def install_project(session: nox.Session) -> None:
    editable = [arg for path in DISTRIBUTIONS if (ROOT / path).is_dir() for arg in ("-e", path)]
    session.install("-e", ".[dev]", *editable)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy --strict on our packages."""
    install_project(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", *[p for p in TYPED_PACKAGES if (ROOT / p).exists()])


def ensure_chromium(session: nox.Session) -> None:
    """The browser test drives Debian's Chromium by path; Playwright never downloads one."""
    if Path(CHROMIUM).exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.log("installing Debian's chromium for the browser test")
        session.run("apt-get", "update", "-qq", external=True)
        session.run(
            "apt-get", "install", "-y", "-qq", "chromium", external=True, env={"DEBIAN_FRONTEND": "noninteractive"}
        )
    else:
        session.warn(f"{CHROMIUM} is missing and cannot be installed here: the browser test will be skipped")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite: host (SQLite and PostgreSQL), plugins, emulator, browser."""
    install_project(session)
    ensure_chromium(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Run the demo: SQLite, the seeded Stripe emulator, a demo tenant; prints the URL and token."""
    # what the app needs, not the test tools
    session.install("-e", ".", "-e", "plugins/stripe", "-e", "plugins/stripe-emulator[demo]")
    session.run("megadesk-demo", *session.posargs, external=False)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Sidebar cost on a real `megadesk serve` against the emulator with latency L; writes
    .bench/results.json (docs/performance.md). Under two minutes; `-- --latency-ms 300` etc."""
    # The sample plugin plays the slow async integration of the concurrency figure; the synthetic
    # ones the fifteen extra integrations of k16_over_k1; wrk measures requests a second.
    session.install(
        "-e",
        ".",
        "-e",
        "plugins/stripe",
        "-e",
        "plugins/stripe-emulator[demo]",
        "-e",
        "tests/plugins/sample",
        "-e",
        "tests/plugins/synthetic",
    )
    if not shutil.which("wrk") and shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.run("apt-get", "install", "-y", "-qq", "wrk", external=True, env={"DEBIAN_FRONTEND": "noninteractive"})
    session.run("python", "plugins/stripe/benchmarks/sidebar_latency.py", *session.posargs)


@nox.session(python=PYTHON)
def record(session: nox.Session) -> None:
    """Re-record the Stripe cassettes: against the emulator, or Stripe test mode with STRIPE_TEST_KEY."""
    install_project(session)
    session.run(
        "pytest",
        "plugins/stripe/tests",
        "--record-mode=rewrite",
        *session.posargs,
        env={"STRIPE_TEST_KEY": os.environ.get("STRIPE_TEST_KEY", "")},
    )
