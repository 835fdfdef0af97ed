"""What the contract check reports: each problem, the report on one integration, the failure it raises.

Also the two helpers every check words its findings with: an exception described with where it
was raised, and whether a text shows a secret from the settings.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
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

    def __str__(self) -> str:
        return f"{self.severity} [{self.code}] {self.where}: {self.message}"


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
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, code: str, where: str, message: str) -> None:
        self.problems.append(Problem(code, where, message, "error"))

    def warn(self, code: str, where: str, message: str) -> None:
        self.problems.append(Problem(code, where, message, "warning"))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    at = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{at}"


def leaks(text: str, secrets: Sequence[str]) -> bool:
    return any(secret in text for secret in secrets)
