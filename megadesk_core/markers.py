"""The pluggy markers: plugins decorate their hook implementations with ``hookimpl``.

``hook_contract`` declares, next to each hook spec, what the host requires of its
implementations; the loader, the contract check and the hook reference all read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pluggy

PROJECT_NAME = "megadesk"
ENTRY_POINT_GROUP = "megadesk.integrations"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

_Spec = TypeVar("_Spec", bound=Callable[..., object])
CONTRACT_ATTRIBUTE = f"{PROJECT_NAME}_contract"


@dataclass(frozen=True)
class HookContract:
    """What the host requires of a hook's implementations."""

    required: bool = False
    """Every integration implements it; a plugin without it is refused at start-up."""
    may_be_async: bool = True
    """``False``: called once at start-up, outside any event loop, so ``async def`` is refused."""


def hook_contract(*, required: bool = False, may_be_async: bool = True) -> Callable[[_Spec], _Spec]:
    """Declare a hook spec's contract (see :class:`HookContract`)."""

    def mark(spec: _Spec) -> _Spec:
        setattr(spec, CONTRACT_ATTRIBUTE, HookContract(required=required, may_be_async=may_be_async))
        return spec

    return mark
