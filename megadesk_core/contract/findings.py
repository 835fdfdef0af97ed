"""What the contract check reports: each problem, the report on one integration, the failure it raises.

Also the two helpers every check words its findings with: an exception described with where it
was raised, and whether a text shows a secret from the settings.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


@dataclass(frozen=True)
class Problem:
    """One way the plugin breaks (``error``) or strains (``warning``) the contract."""

    code: str
    where: str
    message: str
    severity: Severity = "error"
    location: str | None = None
    """``file:line`` in the plugin's own code (the hook, handler or frame concerned), when known."""

    def __str__(self) -> str:
        at = f"\n      at {self.location}" if self.location else ""
        return f"{self.severity} [{self.code}] {self.where}: {self.message}{at}"


@dataclass
class ContractReport:
    """Everything the contract check found about one integration."""

    integration: str
    problems: list[Problem] = field(default_factory=list)
    scenarios_run: int = 0
    ignored: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def format(self) -> str:
        if not self.problems:
            return (
                f"integration {self.integration!r} meets the Megadesk plugin contract "
                f"({_count(range(self.scenarios_run), 'scenario')})"
            )
        verdict = "breaks" if self.errors else "meets, with warnings,"
        head = (
            f"integration {self.integration!r} {verdict} the Megadesk plugin contract "
            f"({_count(self.errors, 'error')}, {_count(self.warnings, 'warning')}, "
            f"{_count(range(self.scenarios_run), 'scenario')}):"
        )
        return "\n".join([head, *(f"  {p}" for p in self.errors + self.warnings)])

    def raise_for_errors(self) -> ContractReport:
        if self.errors:
            raise ContractViolation(self)
        return self


class ContractViolation(AssertionError):
    """The plugin breaks the contract; the message lists every problem found."""

    def __init__(self, report: ContractReport) -> None:
        super().__init__(report.format())
        self.report = report
        self.problems = report.errors


class Findings:
    """The problems found so far. ``at`` is the plugin's code being checked (set before each
    hook or handler runs); a problem without a location of its own points there."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.at: str | None = None
        self.plugin_root: Path | None = None

    def error(self, code: str, where: str, message: str, location: str | None = None) -> None:
        self.problems.append(Problem(code, where, message, "error", location or self.at))

    def warn(self, code: str, where: str, message: str, location: str | None = None) -> None:
        self.problems.append(Problem(code, where, message, "warning", location or self.at))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def raised_at(self, exc: BaseException) -> str | None:
        """The deepest frame of ``exc`` in the plugin's own files (else where it was raised)."""
        frames = traceback.extract_tb(exc.__traceback__)
        own = [f for f in frames if self.plugin_root is not None and _under(f.filename, self.plugin_root)]
        chosen = own or list(frames)
        if not chosen:
            return None
        return f"{_shown(chosen[-1].filename)}:{chosen[-1].lineno}"


def _under(filename: str, root: Path) -> bool:
    try:
        Path(filename).resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _shown(filename: str) -> str:
    """A path relative to the working directory when it is below it (shorter, clickable)."""
    path = Path(filename).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def source_location(obj: object) -> str | None:
    """``file:line`` where a function, class or module is defined, or ``None``."""
    target = inspect.unwrap(obj) if callable(obj) else obj
    try:
        filename = inspect.getsourcefile(target)  # type: ignore[arg-type]
        line = inspect.getsourcelines(target)[1] if not inspect.ismodule(target) else 1  # type: ignore[arg-type]
    except (TypeError, OSError):
        return None
    return f"{_shown(filename)}:{max(line, 1)}" if filename else None


def plugin_root(plugin: object) -> Path | None:
    """The folder of the plugin's code: its package (or module's folder) for a module, its class's
    module otherwise; exception frames there are the plugin's own."""
    module = plugin if inspect.ismodule(plugin) else inspect.getmodule(type(plugin))
    filename = getattr(module, "__file__", None)
    if not filename:
        return None
    return Path(filename).resolve().parent


def describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    at = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{at}"


def leaks(text: str, secrets: Sequence[str]) -> bool:
    return any(secret in text for secret in secrets)
