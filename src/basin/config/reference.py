"""``basin.yml`` described from its models, so the description cannot drift: a JSON
Schema for editors (``basin schema``) and the Markdown configuration reference of the
documentation site. Descriptions are the fields' docstrings."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from basin.config.models import ProjectConfig

SCHEMA_ID = "https://basin.dev/schema/basin.yml.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``basin.yml`` (draft 2020-12), by YAML key names."""
    schema = ProjectConfig.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "basin.yml"
    # Top-level `x-…` keys hold YAML anchors to reuse (as in Compose files).
    schema["patternProperties"] = {"^x-": {}}
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def models() -> Iterator[tuple[type[BaseModel], str]]:
    """Every model of ``basin.yml`` once, with the first path that reaches it
    (``environments.<env>.warehouse``), in the order a reader meets them."""
    seen: set[type[BaseModel]] = set()
    queue: list[tuple[type[BaseModel], str]] = [(ProjectConfig, "")]
    while queue:
        model, path = queue.pop(0)
        if model in seen:
            continue
        seen.add(model)
        yield model, path
        for name, info in model.model_fields.items():
            key = info.alias or name
            for child, suffix in models_in(info.annotation):
                queue.append((child, f"{path}.{key}{suffix}".lstrip(".")))


def keys(model: type[BaseModel]) -> list[str]:
    """The YAML keys of a model."""
    return [info.alias or name for name, info in model.model_fields.items()]


def markdown() -> str:
    """The configuration reference: one section per part of ``basin.yml``."""
    lines = [
        "# Configuration reference",
        "",
        "Every key of `basin.yml`, generated from Basin's own models (`basin schema`",
        "prints the same as a JSON Schema for editors). Any key can also be set by a",
        "`BASIN__<SECTION>__<KEY>` environment variable, which wins over the file.",
        "",
    ]
    for model, path in models():
        title = path or "basin.yml (top level)"
        lines += [f"## `{title}` {{#{_anchor(model)}}}", ""]
        doc = (model.__doc__ or "").strip()
        if doc:
            lines += [doc.splitlines()[0], ""]
        discriminator = _const_field(model)
        if discriminator:
            lines += [f"Chosen by `{discriminator[0]}: {discriminator[1]}`.", ""]
        lines += [table(model), ""]
    return "\n".join(lines)


def table(model: type[BaseModel], link_base: str = "") -> str:
    """A model's keys as a Markdown table (key, type, default, description); links to
    nested models point at ``link_base`` + their anchor (the reference page)."""
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        key = info.alias or name
        kind = _type(info.annotation).replace("](#", f"]({link_base}#")
        rows.append(f"| `{key}` | {kind} | {_default(info)} | {_cell(info.description or '')} |")
    return "\n".join(rows)


def model_named(name: str) -> type[BaseModel]:
    """A model of ``basin.yml`` by class name (``PostgresSource``)."""
    for model, _ in models():
        if model.__name__ == name:
            return model
    raise KeyError(f"no model {name} in basin.yml")


def _anchor(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def _const_field(model: type[BaseModel]) -> tuple[str, str] | None:
    for name, info in model.model_fields.items():
        args = typing.get_args(info.annotation)
        if typing.get_origin(info.annotation) is typing.Literal and len(args) == 1:
            if name in ("kind", "engine", "type"):
                return name, str(args[0])
    return None


def models_in(tp: Any, suffix: str = "") -> Iterator[tuple[type[BaseModel], str]]:
    """The models a field's type holds, with the path suffix that reaches each
    (``.<name>`` through a mapping, ``[]`` through a list)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        yield tp, suffix
        return
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        yield from models_in(args[0], suffix)
    elif origin is dict:
        yield from models_in(args[1], suffix + ".<name>")
    elif origin is list:
        yield from models_in(args[0], suffix + "[]")
    else:
        for arg in args:
            yield from models_in(arg, suffix)


def _type(tp: Any) -> str:
    """A type as a reader of YAML sees it, linking to the sections of nested models."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is type(None):
        return "null"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{_anchor(tp)})"
    if tp is SecretStr:
        return "secret string"
    if origin is typing.Annotated:
        return _type(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type(a) for a in args if a is not type(None)) + (
            ", optional" if type(None) in args else ""
        )
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"map of {_type(args[0])} → {_type(args[1])}"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    value = info.default
    if value is PydanticUndefined and info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "(see its section)"
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        return ", ".join(f"`{k}`" for k in value) + " (with its defaults)"
    if value is None:
        return "—"
    return f"`{json.dumps(value, default=str)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
