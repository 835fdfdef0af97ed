"""Generate the hook reference (``docs/hooks.md``) from :mod:`megadesk_core.hookspecs`.

The hook specs are the single source: signatures come from :func:`inspect.signature`, the
text from each spec's docstring (``Args:``, ``Returns:``, ``Example::``). Generation fails
when a docstring leaves an argument out or names one the spec does not have, so the
reference cannot silently fall behind. ``tests/test_docs_hooks.py`` fails when the file
differs from what this module generates::

    python -m megadesk_core.hookdocs --write docs/hooks.md   # regenerate
    python -m megadesk_core.hookdocs --check docs/hooks.md   # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import textwrap
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from megadesk_core import errors, hookspecs
from megadesk_core.markers import ENTRY_POINT_GROUP, PROJECT_NAME
from megadesk_core.panel import MIN_PANEL_SCHEMA_VERSION, PANEL_SCHEMA_VERSION, Block
from megadesk_core.types import HOOK_API_VERSION, MIN_HOOK_API_VERSION

DEFAULT_PATH = Path("docs/hooks.md")
_SECTIONS = ("Args:", "Returns:", "Example::")
_ROLE = re.compile(r":(?:class|func|data|mod|meth|attr|exc):`~?([\w.]+)`")


class HookDocError(ValueError):
    """A hook spec's docstring does not document it fully."""


@dataclass(frozen=True)
class HookDoc:
    name: str
    signature: str
    summary: str
    description: str
    args: dict[str, str]
    arg_types: dict[str, str]
    returns_type: str
    returns: str
    example: str
    may_be_async: bool
    required: bool


def _markdown(text: str) -> str:
    """reStructuredText roles and literals as Markdown code spans."""
    text = _ROLE.sub(lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _sections(doc: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in inspect.cleandoc(doc).splitlines():
        if line.strip() in _SECTIONS:
            current = line.strip()
            sections[current] = []
        else:
            sections[current].append(line)
    return sections


def _args(lines: list[str], hook: str) -> dict[str, str]:
    args: dict[str, str] = {}
    name = ""
    for line in textwrap.dedent("\n".join(lines)).splitlines():
        match = re.match(r"^(\w+): (.*)$", line)
        if match:
            name = match.group(1)
            args[name] = match.group(2)
        elif line.strip():
            if not name:
                raise HookDocError(f"hook {hook}: cannot read the Args: section near {line.strip()!r}")
            args[name] += " " + line.strip()
    return args


def _joined(lines: list[str]) -> str:
    paragraphs = "\n".join(lines).strip().split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def hook_functions() -> list[Callable[..., Any]]:
    """The hook specs, in the order ``hookspecs.py`` defines them."""
    marker = f"{PROJECT_NAME}_spec"
    specs = [f for _, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, marker)]
    return sorted(specs, key=lambda f: f.__code__.co_firstlineno)


def describe(spec: Callable[..., Any]) -> HookDoc:
    name = spec.__name__
    contract = hookspecs.hook_contracts()[name]
    if not spec.__doc__:
        raise HookDocError(f"hook {name} has no docstring")
    sections = _sections(spec.__doc__)
    signature = inspect.signature(spec)
    params = dict(signature.parameters)
    args = _args(sections.get("Args:", []), name)
    if set(args) != set(params):
        missing, extra = sorted(set(params) - set(args)), sorted(set(args) - set(params))
        raise HookDocError(
            f"hook {name}: the docstring's Args: section does not match the signature "
            f"(undocumented: {missing or 'none'}; not in the signature: {extra or 'none'})"
        )
    example = textwrap.dedent("\n".join(sections.get("Example::", []))).strip()
    if not example:
        raise HookDocError(f"hook {name} has no Example:: section")
    body = sections[""]
    summary_end = next((i for i, line in enumerate(body) if not line.strip()), len(body))
    returns_type = str(signature.return_annotation)
    params_text = ", ".join(f"{p.name}: {p.annotation}" for p in params.values())
    return HookDoc(
        name=name,
        signature=f"def {name}({params_text}) -> {returns_type}",
        summary=_markdown(_joined(body[:summary_end])),
        description=_markdown(_joined(body[summary_end:])),
        args={k: _markdown(v) for k, v in args.items()},
        arg_types={k: str(p.annotation) for k, p in params.items()},
        returns_type=returns_type,
        returns=_markdown(_joined(sections.get("Returns:", []))),
        example=example,
        may_be_async=contract.may_be_async,
        required=contract.required,
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _hook_section(hook: HookDoc) -> list[str]:
    if hook.may_be_async:
        asynchronous = "yes: a plain function or `async def`; the host awaits what needs awaiting."
    else:
        asynchronous = "no: it is called once at start-up, outside the event loop; write a plain function."
    lines = [
        f"## `{hook.name}`",
        "",
        "```python",
        hook.signature,
        "```",
        "",
        hook.summary,
        "",
    ]
    if hook.description:
        lines += [hook.description, ""]
    lines += [
        f"- **Required:** {'yes' if hook.required else 'no'}",
        f"- **May be async:** {asynchronous}",
        "",
    ]
    if hook.args:
        lines += ["| Argument | Type | Meaning |", "|---|---|---|"]
        lines += [f"| `{n}` | `{_cell(hook.arg_types[n])}` | {_cell(text)} |" for n, text in hook.args.items()]
        lines += [""]
    else:
        lines += ["Takes no arguments.", ""]
    returns = f"**Returns** `{hook.returns_type}`"
    lines += [f"{returns}: {hook.returns}" if hook.returns else returns, "", "Example:", ""]
    # Verbatim from the docstring: `ruff format` (which formats Markdown code) leaves it alone.
    lines += ["<!-- fmt: off -->", "```python", hook.example, "```", "<!-- fmt: on -->", ""]
    return lines


def _error_rows() -> list[str]:
    classes = [errors.IntegrationError]
    classes += [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.IntegrationError)]
    seen: list[type[errors.IntegrationError]] = []
    for cls in sorted(classes, key=lambda c: inspect.getsourcelines(c)[1]):
        if cls not in seen:
            seen.append(cls)
    rows = ["| Error | HTTP status | `code` | When |", "|---|---|---|---|"]
    for cls in seen:
        doc = _markdown(_joined(inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].splitlines()))
        rows.append(f"| `{cls.__name__}` | {cls.status} | `{cls.code}` | {_cell(doc)} |")
    return rows


def _block_rows() -> list[str]:
    rows = ["| `type` | Class | Fields | What it shows |", "|---|---|---|---|"]
    for member in typing.get_args(typing.get_args(Block)[0]):
        doc = _markdown(_joined(inspect.cleandoc(member.__doc__ or "").splitlines()))
        fields = ", ".join(f"`{name}`" for name in member.model_fields if name != "type")
        rows.append(f"| `{member.model_fields['type'].default}` | `{member.__name__}` | {fields} | {_cell(doc)} |")
    return rows


def render() -> str:
    """The whole hook reference, as Markdown."""
    hooks = [describe(spec) for spec in hook_functions()]
    intro = _markdown(_joined(inspect.cleandoc(hookspecs.__doc__ or "").splitlines()[1:]))
    lines = [
        "# Hook reference",
        "",
        "<!-- Generated from megadesk_core/hookspecs.py by `python -m megadesk_core.hookdocs --write`. Do not",
        "     edit by hand: tests/test_docs_hooks.py fails when this file and the hook specs differ. -->",
        "",
        f"Hook API version **{HOOK_API_VERSION}**, panel schema version **{PANEL_SCHEMA_VERSION}**. "
        "New to plugins? Start with [Writing a plugin](writing-a-plugin.md).",
        "",
        intro,
        "",
        "A plugin is a module (or an object) whose functions are decorated with `hookimpl` from "
        f"`megadesk_core`, found through an entry point in the `{ENTRY_POINT_GROUP}` group. The types "
        "come from `megadesk_core.types`, the errors from `megadesk_core.errors`.",
        "",
        "| Hook | Required | May be async | Returns |",
        "|---|---|---|---|",
    ]
    for hook in hooks:
        lines.append(
            f"| [`{hook.name}`](#{hook.name}) | {'yes' if hook.required else 'no'} | "
            f"{'yes' if hook.may_be_async else 'no'} | `{_cell(hook.returns_type)}` |"
        )
    lines += ["", *_COMPATIBILITY, ""]
    for hook in hooks:
        lines += _hook_section(hook)
    lines += [
        "## Errors",
        "",
        "Hooks raise these (from `megadesk_core.errors`) and the host turns them into problem responses "
        "or error panels with the message as written. Anything else becomes an opaque error and a logged "
        "traceback. Messages are read by agents and admins: say what went wrong and what to do next, and "
        "never include a secret.",
        "",
        *_error_rows(),
        "",
        "## Panel blocks",
        "",
        f"A `Panel` is a title, a status (`ok` or `empty`), `verified` and a list of blocks. Panel schema "
        f"version {PANEL_SCHEMA_VERSION} has these block types (classes in `megadesk_core.types`); its JSON "
        "Schema is served at `GET /api/v1/schema/panel`.",
        "",
        *_block_rows(),
        "",
    ]
    return "\n".join(lines)


_COMPATIBILITY = [
    "## Versions and compatibility",
    "",
    "The hook API and the panel schema each carry a version. A plugin's `IntegrationManifest` records "
    "the versions it was built for (`hook_api_version`, `panel_schema_version`, which default to those "
    "of the `megadesk-core` it was built against). The host accepts a range of each "
    f"(`MIN_HOOK_API_VERSION` to `HOOK_API_VERSION`, now {MIN_HOOK_API_VERSION} to {HOOK_API_VERSION}; "
    f"`MIN_PANEL_SCHEMA_VERSION` to `PANEL_SCHEMA_VERSION`, now {MIN_PANEL_SCHEMA_VERSION} to "
    f"{PANEL_SCHEMA_VERSION}), so a plugin built one version older keeps loading. A plugin outside the "
    "range is refused at start-up with a message that says what to install or upgrade; it is left out "
    "(`megadesk integrations list` shows it as `REFUSED` with the reason) and the host still starts. "
    "It never fails later, at request time.",
    "",
    "Within one version, hooks may gain optional arguments and the panel schema may gain optional "
    "fields and block types, with no version bump: an implementation only names the arguments it uses, "
    "and renderers ignore fields they do not know. Removing or changing an argument, or renaming or "
    "removing a panel field or block type, bumps the version.",
    "",
    "Each hook's contract (whether it is required, whether it may be `async`) is declared next to its "
    "spec in `megadesk_core/hookspecs.py` with `hook_contract`; the table above, the loader and the "
    "contract check all read that declaration.",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m megadesk_core.hookdocs", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="PATH", type=Path, help="write the reference to PATH")
    group.add_argument("--check", metavar="PATH", type=Path, help="exit 1 if PATH differs from the reference")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
    elif args.check:
        current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
        if current != text:
            print(f"{args.check} is out of date; run: python -m megadesk_core.hookdocs --write {args.check}")
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
