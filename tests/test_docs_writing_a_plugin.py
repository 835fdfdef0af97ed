"""docs/writing-a-plugin.md, followed to the letter: every code block runs, so the guide cannot rot.

How the guide's code blocks are read:

* a block whose first line is ``# file: <path>`` is a file to create (``<path> (continued)``
  appends to it), written when the reader reaches it: after the commands above it (the guide
  starts from ``megadesk new-plugin``, and its files replace the generated ones);
* ``bash`` blocks are commands, run in order in one shell, in an empty folder;
* a ``json output`` or ``text output`` block shows (part of) what the command before it prints:
  every key or line shown must be in the real output;
* ``console`` blocks (setting up Python itself) and plain ``text`` blocks are only shown.

The plugin is installed with the guide's own ``pip install -e`` into a throwaway virtual
environment layered over this one (which provides megadesk-core and its test dependencies), so
the host finds it through its entry point exactly as a reader's would, and this environment is
left untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from layered_venv import clean_environment, layered_venv

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "writing-a-plugin.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FILE_MARK = re.compile(r"^# file: (\S+)( \(continued\))?\n")
GUIDE_PORT = re.compile(r"\b8000\b")
MARKER = "@@guide-step {}@@"


@dataclass(frozen=True)
class Block:
    info: str
    text: str
    line: int

    @property
    def lang(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def is_output(self) -> bool:
        return "output" in self.info.split()[1:]

    @property
    def file(self) -> tuple[str, bool] | None:
        match = FILE_MARK.match(self.text)
        return (match.group(1), bool(match.group(2))) if match else None


def guide_blocks() -> list[Block]:
    text = GUIDE.read_text(encoding="utf-8")
    return [
        Block(info=m.group(1).strip(), text=m.group(2), line=text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]


FILE_END = "GUIDE_FILE_ENDS_HERE"


def file_step(block: Block, written: set[str]) -> str:
    """The shell that writes a ``# file:`` block where the reader meets it (a here-document)."""
    assert block.file is not None
    path, continued = block.file
    assert FILE_END not in block.text
    if continued:
        assert path in written, f"guide line {block.line}: {path} is continued before it is created"
        return f"cat >> {path} <<'{FILE_END}'\n{FILE_MARK.sub('', block.text, count=1)}{FILE_END}"
    written.add(path)
    return f"mkdir -p \"$(dirname {path})\"\ncat > {path} <<'{FILE_END}'\n{block.text}{FILE_END}"


def contains(actual: Any, expected: Any) -> bool:
    """Whether ``actual`` has everything ``expected`` shows (dicts may have more keys)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def normalised_lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_every_block_is_a_file_a_command_or_an_output():
    blocks = guide_blocks()
    previous: Block | None = None
    for block in blocks:
        if block.is_output:
            assert previous is not None and previous.lang == "bash", f"guide line {block.line}: output of what?"
        else:
            assert block.file is not None or block.lang in ("bash", "console", "text"), (
                f"guide line {block.line}: a {block.lang or 'plain'} block that is neither a '# file:' nor a bash "
                "command; the test cannot run it, so it could rot"
            )
        previous = block
    files = {b.file[0] for b in blocks if b.file}
    assert {"megadesk-acme/megadesk_acme/plugin.py", "megadesk-acme/tests/test_acme.py"} <= files
    commands = [b.text for b in blocks if b.lang == "bash" and not b.is_output]
    assert commands[0].startswith("megadesk new-plugin acme"), "the guide starts from the scaffold"
    assert any('[project.entry-points."megadesk.integrations"]' in b.text for b in blocks if b.is_output)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _script(blocks: list[Block], commands: list[Block], port: int) -> str:
    steps = ["set -euo pipefail"]
    written: set[str] = set()
    index_of = {id(block): i for i, block in enumerate(commands)}
    for block in blocks:
        if block.file is not None:
            steps.append(file_step(block, written))
        elif id(block) in index_of:
            # on a line of its own even when the previous command printed no final newline
            marker = MARKER.format(index_of[id(block)])
            steps += [f"printf '\\n{marker}\\n'", GUIDE_PORT.sub(str(port), block.text)]
    return "\n".join(steps) + "\n"


def _outputs(stdout: str, count: int) -> list[str]:
    parts = re.split(r"^@@guide-step (\d+)@@\n", stdout, flags=re.MULTILINE)
    found = {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    return [found.get(i, "") for i in range(count)]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the guide calls the API with curl")
def test_following_the_guide_puts_the_new_plugin_in_the_sidebar(tmp_path):
    blocks = guide_blocks()
    workdir = tmp_path / "empty-folder"
    workdir.mkdir()
    bin_dir = layered_venv(tmp_path / "venv")
    commands = [b for b in blocks if b.lang == "bash" and not b.is_output]
    port = _free_port()

    process = subprocess.Popen(
        ["bash", "-c", _script(blocks, commands, port)],
        cwd=workdir,
        env=clean_environment(bin_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the server it starts is in this process group: killed below
    )
    try:
        stdout, stderr = process.communicate(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    outputs = _outputs(stdout, len(commands))
    server_log = workdir / "server.log"

    def explain(index: int) -> str:
        log = server_log.read_text(encoding="utf-8")[-3000:] if server_log.exists() else "(no server.log)"
        return (
            f"\nguide line {commands[index].line}:\n{commands[index].text}\n--- its output:\n{outputs[index]}"
            f"\n--- stderr (tail):\n{stderr[-4000:]}\n--- server.log (tail):\n{log}"
        )

    if process.returncode != 0:
        failed = max((i for i, out in enumerate(outputs) if out or f"@@guide-step {i}@@" in stdout), default=0)
        pytest.fail(f"the guide's commands failed (exit {process.returncode}) at:{explain(failed)}", pytrace=False)

    index_of = {id(block): i for i, block in enumerate(commands)}
    previous: Block | None = None
    for block in blocks:
        if block.is_output:
            assert previous is not None
            index = index_of[id(previous)]
            if block.lang == "json":
                assert contains(json.loads(outputs[index]), json.loads(block.text)), (
                    f"guide line {block.line}: the output shown is not what the command prints{explain(index)}"
                )
            else:
                actual = normalised_lines(outputs[index])
                missing = [line for line in normalised_lines(block.text) if line not in actual]
                assert not missing, f"guide line {block.line}: {missing} not in the output{explain(index)}"
        elif block.lang == "bash":
            previous = block
