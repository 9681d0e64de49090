"""Load `basin.yml` into a :class:`Project`: its config, its folder and the selected environment.

Loading reports every problem at once, each with its dotted path and line in the
file (``sources.crm.entities.customers.glob: field required (line 12)``), and never
a traceback. Secrets come from the environment through ``${env:NAME}`` (or
``${env:NAME:-default}``); a ``.env`` file beside ``basin.yml`` is read first and
never overrides variables that are already set.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from basin.common.errors import ConfigError, ProjectNotFoundError
from basin.common.redaction import MIN_SUBSTITUTED, redact, register, secrets_of
from basin.config.models import EnvironmentConfig, ProjectConfig

PROJECT_FILE = "basin.yml"
ENV_VAR = "BASIN_ENV"


@dataclass(frozen=True)
class Project:
    """A loaded project: its config, its folder and the selected environment."""

    root: Path
    config: ProjectConfig
    env_name: str

    @property
    def env(self) -> EnvironmentConfig:
        return self.config.environments[self.env_name]

    @property
    def state_dir(self) -> Path:
        configured = self.env.state_dir or f".basin/{self.env_name}"
        return (self.root / configured).resolve()

    def state_path(self, relative: str) -> Path:
        """A path under the environment's state folder (absolute paths kept as given)."""
        p = Path(relative)
        return p if p.is_absolute() else self.state_dir / p

    def project_path(self, relative: str) -> Path:
        """A path relative to the folder holding ``basin.yml``."""
        p = Path(relative)
        return p if p.is_absolute() else (self.root / p).resolve()

    @property
    def lake_url(self) -> str:
        url = self.env.lake.url
        if "://" in url:
            return url
        return str(self.state_path(url))

    @property
    def metadata_url(self) -> str:
        url = self.env.metadata.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////"):
            rel = url[len(prefix) :]
            if rel and rel != ":memory:":
                return prefix + str(self.state_path(rel))
        return url

    @property
    def publish_dir(self) -> Path:
        return self.state_path(self.env.publish_dir)

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_path(self.config.dbt.project_dir)


# --- loading ---------------------------------------------------------------------


def find_project_file(start: Path | None = None) -> Path:
    """Find ``basin.yml`` in ``start`` or its parents."""
    here = (start or Path.cwd()).resolve()
    if here.is_file():
        return here
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    raise ProjectNotFoundError(
        f"no {PROJECT_FILE} in {here} or any parent folder",
        hint="run inside a Basin project, pass --project PATH, or create one with `basin init DIR`",
    )


def read_dotenv(path: Path) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of a ``.env`` file (python-dotenv's syntax: quotes,
    ``export``, comments, escapes); nothing when the file does not exist."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path, encoding="utf-8").items() if v is not None}


def _substitute(
    data: Any,
    environ: dict[str, str],
    path: tuple[Any, ...],
    problems: list[tuple[tuple[Any, ...], str]],
    *,
    root: Path | None = None,
    skip: Callable[[tuple[Any, ...]], bool] = lambda _: False,
    resolved: list[tuple[str, str, str]] | None = None,
) -> Any:
    """``data`` with every ``${provider:reference}`` replaced by its value (see
    :mod:`basin.config.secrets`); what does not resolve is a problem at its path.
    Subtrees ``skip`` names (other environments' settings) are left as written:
    running ``dev`` needs neither ``prod``'s variables nor its secret store."""
    from basin.config.secrets import REFERENCE, SecretUnavailable, resolve

    if skip(path):
        return data
    if isinstance(data, dict):
        return {
            k: _substitute(
                v, environ, (*path, k), problems, root=root, skip=skip, resolved=resolved
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            _substitute(v, environ, (*path, i), problems, root=root, skip=skip, resolved=resolved)
            for i, v in enumerate(data)
        ]
    if isinstance(data, str) and "${" in data:

        def repl(m: re.Match[str]) -> str:
            provider, reference = m.group(1), m.group(2)
            try:
                value = resolve(provider, reference, environ, root)
            except SecretUnavailable as exc:
                problems.append((path, redact(str(exc))))
                return ""
            if _secret_like(provider, reference, environ):
                # A value from outside the file may be a secret: never shown again.
                register([value], min_length=MIN_SUBSTITUTED if provider == "env" else 1)
            if resolved is not None and provider != "env":
                resolved.append((_format_loc(path), m.group(0), provider))
            return value

        return REFERENCE.sub(repl, data)
    return data


NOT_SECRET_KEYS = {"user", "username", "host", "port", "dbname", "database", "engine"}
"""Keys of a secret store's JSON that name, not protect (AWS's database secrets hold
``username``, ``host``, ``port``, ``dbname`` beside ``password``): masking a user
name such as ``postgres`` everywhere would mangle every ``postgresql://`` shown."""


def _secret_like(provider: str, reference: str, environ: dict[str, str]) -> bool:
    if provider == "env":
        return reference.split(":-")[0] in environ  # a default written in the file is not
    return reference.rpartition("#")[2].lower() not in NOT_SECRET_KEYS


def _selected_env(data: dict[str, Any], env: str | None, environ: dict[str, str]) -> str | None:
    """The environment a load selects, from the raw file (before substitution)."""
    envs = data.get("environments")
    names = list(envs) if isinstance(envs, dict) else ["dev"]
    name = env or environ.get(ENV_VAR) or data.get("default_env")
    if isinstance(name, str):
        return name
    if not names:
        return None
    return "dev" if "dev" in names else str(names[0])


OVERRIDE_PREFIX = "BASIN__"


def environment_overrides(env_file: Path | None = None) -> dict[str, Any]:
    """Settings from ``BASIN__SECTION__KEY`` variables (then from ``env_file``), as a
    nested mapping shaped like ``basin.yml``: ``BASIN__EXTRACT__PARALLELISM=2`` is
    ``{"extract": {"parallelism": "2"}}``. Names are case-insensitive, so keys are
    lower case. Read with pydantic-settings."""
    from pydantic import create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class Base(BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix=OVERRIDE_PREFIX, env_nested_delimiter="__", extra="ignore"
        )

    # One field per section of basin.yml: a mapping for a section, a value otherwise.
    fields: dict[str, Any] = {
        name: (dict[str, Any] | None if _models_in(info.annotation) else Any, None)
        for name, info in ProjectConfig.model_fields.items()
    }
    overrides = create_model("BasinOverrides", __base__=Base, **fields)
    found = overrides(_env_file=env_file if env_file and env_file.is_file() else None)  # type: ignore[call-arg]
    return found.model_dump(exclude_none=True)


def _merge(base: Any, top: Any, path: tuple[Any, ...], paths: list[tuple[Any, ...]]) -> Any:
    """``top`` over ``base`` (mappings merged key by key); records each overridden path."""
    if isinstance(top, dict) and (base is None or isinstance(base, dict)):
        merged = dict(base or {})
        for key, value in top.items():
            merged[key] = _merge(merged.get(key), value, (*path, key), paths)
        return merged
    paths.append(path)
    return top


def _duplicate_keys(node: yaml.Node | None, path: str = "") -> list[str]:
    """A problem per key written twice in one mapping: YAML keeps the last silently,
    and a second ``publish:`` block would drop the first one's settings unseen."""
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else None
            if name is not None and name != "<<":
                line = key.start_mark.line + 1
                if name in seen:
                    problems.append(
                        f"{path}{name}: written twice (lines {seen[name]} and {line}); "
                        "YAML would keep only the second: merge them into one"
                    )
                seen.setdefault(name, line)
            problems += _duplicate_keys(value, f"{path}{name}." if name else path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, f"{path}{i}.")
    return problems


def _line_of(node: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """The 1-based line of ``path`` in a composed YAML tree, or of its nearest parent."""
    best = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    node = v
                    best = k.start_mark.line + 1
                    break
            else:
                return best
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            best = node.start_mark.line + 1
        else:
            return best
    return best


def _models_in(tp: Any) -> list[type[BaseModel]]:
    from basin.config.reference import models_in

    return [model for model, _suffix in models_in(tp)]


def _tags(model: type[BaseModel]) -> set[str]:
    out: set[str] = set()
    for name in ("kind", "engine"):
        field = model.model_fields.get(name)
        if field is not None:
            out.update(str(a) for a in typing.get_args(field.annotation))
    return out


def _known_fields(raw_loc: tuple[Any, ...]) -> list[str]:
    """Field names valid where pydantic's (uncleaned) ``raw_loc`` ends, for hints."""
    tp: Any = ProjectConfig
    for key in raw_loc[:-1]:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            origin = typing.get_origin(tp)
        if origin is dict:
            tp = typing.get_args(tp)[1]  # key is a name such as a source's
            continue
        models = _models_in(tp)
        if len(models) > 1:  # a discriminated union: key is the tag
            tp = next((m for m in models if str(key) in _tags(m)), None)
            continue
        if not models:
            return []
        if str(key) in _tags(models[0]) and str(key) not in models[0].model_fields:
            continue  # the tag of a one-member union
        fields = {f.alias or n: f for n, f in models[0].model_fields.items()}
        if str(key) not in fields:
            return []
        tp = fields[str(key)].annotation
    models = _models_in(tp)
    if len(models) == 1:
        return [f.alias or n for n, f in models[0].model_fields.items()]
    return []


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # pydantic puts the discriminator value ("files", "duckdb") after the union's
    # key and "[key]" steps for dict keys; the user's file has neither.
    out: list[Any] = []
    for i, part in enumerate(loc):
        if part == "[key]":
            continue
        is_source_tag = i >= 2 and loc[i - 2] == "sources" and isinstance(part, str)
        is_engine_tag = i >= 1 and loc[i - 1] == "warehouse" and isinstance(part, str)
        if is_source_tag or is_engine_tag:
            continue
        out.append(part)
    return tuple(out)


def _message(err: Any, loc: tuple[Any, ...], raw_loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    msg: str = err["msg"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        known = _known_fields(raw_loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        tail = (
            f"; did you mean '{close[0]}'?"
            if close
            else (f"; expected one of: {', '.join(known)}" if known else "")
        )
        return f"unknown field{tail}"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return (
            f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} "
            f"{ctx.get('tag')!r}; expected one of: {ctx.get('expected_tags')}"
        )
    if kind == "union_tag_not_found":
        return f"field required: {err.get('ctx', {}).get('discriminator', 'kind')}"
    if kind == "string_pattern_mismatch":
        return (
            f"{err.get('input')!r} is not a valid name: use lowercase letters, digits "
            f"and underscores, starting with a letter"
        )
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    first_word = msg.split(" ", 1)[0]
    return msg[0].lower() + msg[1:] if first_word[1:].islower() else msg


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_config(
    text: str,
    *,
    source: str = PROJECT_FILE,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
    env: str | None = None,
    root: Path | None = None,
) -> ProjectConfig:
    """Parse and validate the text of a ``basin.yml``; ``overrides`` (from
    :func:`environment_overrides`) win over the file. Secrets are resolved for the
    environment ``env`` selects (and the settings outside ``environments:``) only.

    Raises:
        ConfigError: with one line per problem, each naming its path and line.
    """
    environ = dict(os.environ) if environ is None else environ
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        position = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [f"not valid YAML{position}: {problem}"]) from None
    duplicates = _duplicate_keys(node)
    if duplicates:
        raise ConfigError(source, duplicates)
    if data is None:
        raise ConfigError(source, ["the file is empty: it needs at least `project: <name>`"])
    if not isinstance(data, dict):
        raise ConfigError(source, ["the top level must be a mapping such as `project: <name>`"])

    # Top-level `x-…` keys hold YAML anchors to reuse (as in Compose files).
    data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    env_problems: list[tuple[tuple[Any, ...], str]] = []
    selected = _selected_env(data, env, environ)
    resolved: list[tuple[str, str, str]] = []
    data = _substitute(
        data,
        environ,
        (),
        env_problems,
        root=root,
        skip=lambda p: len(p) == 2 and p[0] == "environments" and p[1] != selected,
        resolved=resolved,
    )
    overridden: list[tuple[Any, ...]] = []
    in_file = data
    if overrides:
        data = _merge(data, overrides, (), overridden)
        # A value from the environment may be a secret: never shown again.
        register([v for v in _leaves(overrides) if isinstance(v, str)], min_length=MIN_SUBSTITUTED)

    def where(loc: tuple[Any, ...]) -> str:
        """Where a problem's value came from: a variable, else the file's line."""
        by = next((p for p in overridden if loc[: len(p)] == p), None)
        if by is None and not _has(in_file, loc):  # e.g. a source only a variable declares
            by = next((p for p in overridden if p[: len(loc)] == loc), None)
        if by is not None:
            return f" (from {OVERRIDE_PREFIX}{'__'.join(str(k).upper() for k in by)})"
        line = _line_of(node, loc)
        return f" (line {line})" if line else ""

    problems = [f"{_format_loc(loc)}: {msg}{where(loc)}" for loc, msg in env_problems]
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _clean_loc(tuple(err["loc"]))
            problems.append(
                f"{_format_loc(loc)}: {_message(err, loc, tuple(err['loc']))}{where(loc)}"
            )
        raise ConfigError(source, problems) from None
    if problems:
        raise ConfigError(source, problems)
    register(secrets_of(config))
    config._secrets = resolved
    return config


def load_project(start: Path | None = None, env: str | None = None) -> Project:
    """Find, read and validate ``basin.yml`` and select an environment.

    The environment is ``env``, else ``$BASIN_ENV``, else ``default_env``, else
    ``dev`` when declared, else the first one declared.
    """
    path = find_project_file(start)
    root = path.parent
    environ = {**read_dotenv(root / ".env"), **os.environ}
    config = parse_config(
        path.read_text(encoding="utf-8"),
        source=str(path),
        environ=environ,
        overrides=environment_overrides(root / ".env"),
        env=env,
        root=root,
    )
    name = env or environ.get(ENV_VAR) or config.default_env
    if name is None:
        name = "dev" if "dev" in config.environments else next(iter(config.environments))
    if name not in config.environments:
        raise ConfigError(
            str(path),
            [
                f"environment '{name}' is not declared; declared: "
                f"{', '.join(config.environments)} (add it under `environments:`)"
            ],
        )
    return Project(root=root, config=config, env_name=name)


def _has(data: Any, loc: tuple[Any, ...]) -> bool:
    for key in loc:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def _leaves(data: Any) -> Iterator[Any]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _leaves(value)
    else:
        yield data


def iter_entities(config: ProjectConfig) -> Iterator[tuple[str, str]]:
    """Every (source, entity) pair of the project, in file order."""
    for source_name, source in config.sources.items():
        for entity in source.entity_names:
            yield source_name, entity


def select_entities(config: ProjectConfig, select: list[str] | None) -> list[tuple[str, str]]:
    """Resolve ``--select`` values (``source`` or ``source.entity``) to pairs.

    Raises:
        ConfigError: when a selector names nothing in the project.
    """
    every = list(iter_entities(config))
    if not select:
        return every
    chosen: list[tuple[str, str]] = []
    problems: list[str] = []
    for sel in select:
        source, _, entity = sel.partition(".")
        matched = [p for p in every if p[0] == source and (not entity or p[1] == entity)]
        if not matched:
            names = [f"{s}.{e}" for s, e in every]
            close = difflib.get_close_matches(sel, names + list(config.sources), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(f"--select {sel}: no such source or entity{hint}")
        chosen.extend(p for p in matched if p not in chosen)
    if problems:
        raise ConfigError(PROJECT_FILE, problems)
    return chosen
