"""Write ``openlineage.schema.json``: the OpenLineage spec as JSON Schema, for the tests.

The spec's own JSON Schema files (``OpenLineage.json`` and one file per facet) are not
in any package the registries reachable here serve. openlineage-python's
``openlineage.client.generated`` classes are generated from exactly those files
(``openlineage/client/generator``), one attrs class per definition, each facet with
the URL of its schema. This script turns the installed classes back into JSON Schema:

- a definition per class: its fields as properties, each field that has neither a
  ``None`` default nor a factory required (the spec's ``producer`` and ``schemaURL``
  are filled in by the client, so they carry a string default and stay required);
- field types from the annotations (``str``, ``int``, ``float``, ``bool``, enums,
  lists, dicts, nested classes by ``$ref``);
- formats from the generated validators (``isoparse`` → date-time, ``UUID`` → uuid,
  ``urlparse`` → uri), as the generator wrote them from the spec's formats;
- ``facets``: facet schema URL (``…/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet``)
  → its definition, for validating each facet by its ``_schemaURL``.

Run it after upgrading openlineage-python (a test fails until the file matches):

    .venv/bin/python tests/lineage/cases/make_openlineage_schema.py
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import pkgutil
import types
import typing
from pathlib import Path
from typing import Any

import attr

OUTPUT = Path(__file__).with_name("openlineage.schema.json")
PRIMITIVES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _classes() -> list[type]:
    import openlineage.client.generated as generated

    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and (attr.has(cls) or issubclass(cls, enum.Enum)):
                found[_def_name(cls)] = cls
    return [found[k] for k in sorted(found)]


def _def_name(cls: type) -> str:
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__qualname__}"


def _type(hint: Any, names: dict[str, Any]) -> dict[str, Any]:
    if isinstance(hint, typing.ForwardRef | str):
        hint = eval(getattr(hint, "__forward_arg__", hint), names)  # noqa: S307
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return (
            _type(options[0], names)
            if len(options) == 1
            else {"anyOf": [_type(a, names) for a in options]}
        )
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return {"type": "array", "items": _type(item, names)}
    if origin is dict:
        _, value = typing.get_args(hint) or (str, Any)
        return {"type": "object", "additionalProperties": _type(value, names)}
    if hint is Any or hint is object:
        return {}
    if isinstance(hint, type) and (attr.has(hint) or issubclass(hint, enum.Enum)):
        return {"$ref": f"#/$defs/{_def_name(hint)}"}
    if hint in PRIMITIVES:
        return {"type": PRIMITIVES[hint]}
    if hint is dict:
        return {"type": "object"}
    if hint is list:
        return {"type": "array"}
    raise TypeError(f"no JSON Schema type for {hint!r}")


def _format(field: Any) -> str | None:
    if field.validator is None:
        return None
    source = inspect.getsource(getattr(field.validator, "__func__", field.validator))
    for needle, fmt in (("isoparse", "date-time"), ("UUID(", "uuid"), ("urlparse", "uri")):
        if needle in source:
            return fmt
    return None


def _definition(cls: type) -> dict[str, Any]:
    if issubclass(cls, enum.Enum):
        return {"enum": [m.value for m in cls]}
    # Field annotations are strings (``from __future__ import annotations``); evaluate
    # each in its module (``get_type_hints`` would also need the ClassVars' imports).
    names = {**vars(typing), **vars(importlib.import_module(cls.__module__))}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attr.fields(cls):
        if not field.init and field.default is attr.NOTHING:
            continue
        prop = _type(field.type, names)
        if fmt := _format(field):
            prop["format"] = fmt
        properties[field.name] = prop
        default = field.default
        optional = default is None or isinstance(default, attr.Factory)  # type: ignore[arg-type]
        if not optional:
            required.append(field.name)
    definition: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": True,
    }
    if required:
        definition["required"] = sorted(required)
    return definition


def build() -> dict[str, Any]:
    import openlineage.client

    classes = _classes()
    defs = {_def_name(c): _definition(c) for c in classes}
    facets = {}
    for cls in classes:
        get_schema = getattr(cls, "_get_schema", None)
        if get_schema is not None and "Facet" in cls.__name__:
            facets[get_schema()] = {"$ref": f"#/$defs/{_def_name(cls)}"}
    version = getattr(openlineage.client, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("openlineage-python")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": (
            "Generated by make_openlineage_schema.py from openlineage-python "
            f"{version}'s classes, which are generated from the OpenLineage spec "
            "(Apache-2.0, contributors to the OpenLineage project)."
        ),
        "$ref": "#/$defs/base.RunEvent",
        "$defs": defs,
        "facets": dict(sorted(facets.items())),
    }


if __name__ == "__main__":
    OUTPUT.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT}")
