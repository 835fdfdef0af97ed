"""docs/hooks.md is generated from the hook specs and must not drift from them."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from megadesk_core import hookdocs
from megadesk_core.contract import REQUIRED_HOOKS, SYNC_ONLY_HOOKS

HOOKS_MD = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def test_hooks_md_is_what_the_hook_specs_generate():
    assert HOOKS_MD.read_text(encoding="utf-8") == hookdocs.render(), (
        "docs/hooks.md is out of date with megadesk_core/hookspecs.py; regenerate it with "
        "`python -m megadesk_core.hookdocs --write docs/hooks.md` (edit the docstrings, not the file)"
    )


def test_every_hook_has_an_entry_with_signature_arguments_returns_and_an_example():
    text = HOOKS_MD.read_text(encoding="utf-8")
    specs = hookdocs.hook_functions()
    assert [f.__name__ for f in specs] == [
        "manifest",
        "check_settings",
        "resolve_customer",
        "sidebar_panel",
        "actions",
        "run_action",
        "recover_action",
        "webhook",
        "shutdown",
    ]
    for spec in specs:
        doc = hookdocs.describe(spec)
        section = text.split(f"## `{doc.name}`\n", 1)[1].split("\n## ", 1)[0]
        assert doc.signature in section
        for name in inspect.signature(spec).parameters:
            assert f"| `{name}` |" in section
        assert "**Returns**" in section and "**May be async:**" in section
        assert "```python\n@hookimpl" in section or "```python\nclass" in section


def test_what_the_reference_says_matches_the_contract_check():
    for spec in hookdocs.hook_functions():
        doc = hookdocs.describe(spec)
        assert doc.required == (doc.name in REQUIRED_HOOKS)
        assert doc.may_be_async == (doc.name not in SYNC_ONLY_HOOKS), doc.name
        # the docstrings say "Required." exactly for the hooks the contract requires
        assert ("Required." in (spec.__doc__ or "")) == doc.required, doc.name


def test_a_spec_whose_docstring_misses_an_argument_cannot_be_documented():
    def sidebar_panel(context: object, ticket: object, customer: object) -> None:
        """Render.

        Args:
            context: the context.
            tikcet: a typo.

        Example::

            pass
        """

    with pytest.raises(hookdocs.HookDocError, match=r"undocumented: \['customer', 'ticket'\]; not in the signature"):
        hookdocs.describe(sidebar_panel)


def test_the_check_command_reports_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "hooks.md"
    stale.write_text("# old\n", encoding="utf-8")
    assert hookdocs.main(["--check", str(stale)]) == 1
    assert "run: python -m megadesk_core.hookdocs --write" in capsys.readouterr().out
    assert hookdocs.main(["--write", str(stale)]) == 0
    assert hookdocs.main(["--check", str(stale)]) == 0
