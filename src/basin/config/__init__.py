"""``basin.yml``: the typed models (:mod:`basin.config.models`) and loading them into a
:class:`Project` (:mod:`basin.config.project`)."""

from basin.config.project import (
    Project,
    find_project_file,
    iter_entities,
    load_project,
    parse_config,
    select_entities,
)

__all__ = [
    "Project",
    "find_project_file",
    "iter_entities",
    "load_project",
    "parse_config",
    "select_entities",
]
