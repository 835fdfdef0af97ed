"""Checks of the plugin's settings model: JSON Schema for the admin form, extra fields, and secrets kept safe."""

from __future__ import annotations

import re
import types
import typing

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import PydanticUndefined

from megadesk_core.contract.findings import Findings

_SECRET_NAME = re.compile(
    r"(?:^|_)(?:api_?key|key|token|secret|password|passwd|passphrase|credentials?)$|secret|password", re.IGNORECASE
)
_PUBLIC_NAME = re.compile(r"^(?:public|publishable)_", re.IGNORECASE)


def _annotation_parts(annotation: object) -> tuple[object, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(typing.get_args(annotation))
    return (annotation,)


def _mentions(annotation: object, kinds: tuple[type, ...]) -> bool:
    """Whether ``annotation`` uses one of ``kinds`` anywhere, e.g. ``list[SecretStr]``."""
    if isinstance(annotation, type) and issubclass(annotation, kinds):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(_mentions(f.annotation, kinds) for f in annotation.model_fields.values())
    return any(_mentions(arg, kinds) for arg in typing.get_args(annotation))


def check_settings_model(model: type[BaseModel], where: str, found: Findings) -> None:
    try:
        model.model_json_schema()
    except Exception as exc:
        found.error(
            "settings-json-schema",
            where,
            f"{model.__name__} has no JSON Schema ({exc}); the admin UI builds its form from it, "
            "so use JSON types (str, int, float, bool, lists, nested models, SecretStr).",
        )
    if model.model_config.get("extra") != "forbid":
        found.warn(
            "settings-extra",
            where,
            f"{model.__name__} accepts unknown fields, so a misspelled setting is silently dropped; "
            "set model_config = ConfigDict(extra='forbid').",
        )
    for name, info in model.model_fields.items():
        at = f"{where}.{name}"
        parts = _annotation_parts(info.annotation)
        if _mentions(info.annotation, (SecretBytes,)):
            found.error("secret-type", at, "SecretBytes is not stored encrypted by the host; use SecretStr.")
        if SecretStr in parts:
            if info.default is not None and info.default is not PydanticUndefined:
                found.error(
                    "secret-default",
                    at,
                    "a secret field has a default value, so the secret ships with the plugin's code; "
                    "make it required (or default it to None).",
                )
            if info.default_factory is not None:
                found.error("secret-default", at, "a secret field has a default_factory; make it required.")
        elif _mentions(info.annotation, (SecretStr,)):
            found.error(
                "nested-secret",
                at,
                "the host encrypts only top-level SecretStr fields (or SecretStr | None); a secret inside "
                "a list, dict or nested model would be lost. Make each secret its own top-level field.",
            )
        elif _SECRET_NAME.search(name) and not _PUBLIC_NAME.match(name) and all(p in (str, type(None)) for p in parts):
            found.error(
                "secret-not-secretstr",
                at,
                f"{name!r} looks like a secret but is typed {_type_name(info.annotation)}, so the host would store "
                "it in clear and show it to admins; type it SecretStr. If it really is not a secret, ignore "
                "this problem code for this plugin.",
            )


def _type_name(annotation: object) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")
