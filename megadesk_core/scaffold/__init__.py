"""``megadesk new-plugin NAME``: a new plugin distribution that works as generated.

It has its entry point, settings with a secret, process options, a panel, an action with a
handler, an API client on the host's outbound HTTP client (``context.http``), tests with the
host's pytest plugin (a fake API on localhost, the contract check) and a README. It installs,
passes its own tests and the contract check, and shows in ``megadesk integrations list``
without an edit (``tests/test_new_plugin.py`` checks all of that).

The files are ``string.Template`` texts in ``template/`` (``$name``, ``$title``, ``$package``,
``$dist``, ``$Class``); a ``__package__`` or ``__name__`` in a path becomes the package or the
integration name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

import click

from megadesk_core.types import NAME_PATTERN

TEMPLATE_DIR = Path(__file__).resolve().parent / "template"
SUFFIX = ".tmpl"


class ScaffoldError(ValueError):
    """The plugin cannot be generated as asked; the message says why and what to do."""


@dataclass(frozen=True)
class PluginNames:
    name: str
    """The integration's name and the entry point's (``acme``)."""
    title: str

    @property
    def package(self) -> str:
        return f"megadesk_{self.name}"

    @property
    def dist(self) -> str:
        return f"megadesk-{self.name.replace('_', '-')}"

    @property
    def class_prefix(self) -> str:
        return "".join(part.title() for part in self.name.split("_"))

    def substitutions(self) -> dict[str, str]:
        return {
            "name": self.name,
            "title": self.title,
            "package": self.package,
            "dist": self.dist,
            "Class": self.class_prefix,
        }


def plugin_names(name: str, title: str | None = None) -> PluginNames:
    if not NAME_PATTERN.match(name):
        raise ScaffoldError(
            f"{name!r} cannot be an integration name: use lower-case letters, digits and _, starting with a letter "
            f"({NAME_PATTERN.pattern}); it appears in URLs and in the tickets' Custom Data"
        )
    shown = title if title is not None else name.replace("_", " ").title()
    if not shown.strip() or any(c in shown for c in '"\\$\n'):
        raise ScaffoldError(f"the title {shown!r} must be one line without quotes, backslashes or $")
    return PluginNames(name, shown.strip())


def generate(name: str, parent: Path, *, title: str | None = None) -> Path:
    """Write the new distribution into ``parent/<dist>``; returns that folder. Never overwrites."""
    names = plugin_names(name, title)
    root = parent / names.dist
    if root.exists():
        raise ScaffoldError(f"{root} already exists; choose another folder (--directory) or name")
    values = names.substitutions()
    for source in sorted(TEMPLATE_DIR.rglob(f"*{SUFFIX}")):
        relative = source.relative_to(TEMPLATE_DIR).as_posix()[: -len(SUFFIX)]
        target = root / relative.replace("__package__", names.package).replace("__name__", names.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(source.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
    return root


@click.command("new-plugin")
@click.argument("name")
@click.option("--title", default=None, help="What agents see above the panel (default: NAME in title case).")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Where to create the distribution's folder.",
)
def new_plugin(name: str, title: str | None, directory: Path) -> None:
    """Create a new plugin distribution for integration NAME that passes its tests as generated."""
    try:
        root = generate(name, directory, title=title)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {root}/")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        click.echo(f"  {path.relative_to(root)}")
    click.echo("next:")
    click.echo(f'  python -m pip install -e "{root}[test]"')
    click.echo(f"  python -m pytest {root}/tests")
    click.echo(f"  megadesk contract {name}")
