"""Walking the recorded lineage: upstream or downstream of a dataset or one column."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from basin.common.errors import TerminalError


@dataclass
class LineageNode:
    """A dataset (and column) in a lineage tree, with what feeds it or what it feeds."""

    dataset: str
    column: str | None = None
    step: str | None = None
    """The step that made the edge to the parent node (extract, load, transform, publish)."""
    children: list[LineageNode] = field(default_factory=list)
    repeated: bool = False
    """Shown earlier in the tree with its own lineage, which is not repeated here."""

    def walk(self) -> Iterable[LineageNode]:
        yield self
        for child in self.children:
            yield from child.walk()


Edge = tuple[str, str | None, str, str | None, str]
"""(dataset, column, upstream dataset, upstream column, step)."""


class LineageGraph:
    def __init__(self, edges: Iterable[Edge], datasets: Iterable[str] = ()) -> None:
        self.up: dict[tuple[str, str | None], list[tuple[str, str | None, str]]] = defaultdict(list)
        self.down: dict[tuple[str, str | None], list[tuple[str, str | None, str]]] = defaultdict(
            list
        )
        self.names: set[str] = set(datasets)
        for dataset, column, upstream, upstream_column, step in edges:
            self.up[(dataset, column)].append((upstream, upstream_column, step))
            self.down[(upstream, upstream_column)].append((dataset, column, step))
            self.names |= {dataset, upstream}

    def resolve(self, name: str) -> str:
        """A dataset key from its full key or an unambiguous ending (``customer_360``)."""
        if name in self.names:
            return name
        matches = sorted(n for n in self.names if n.endswith("." + name))
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise TerminalError(
                f"no dataset named {name} in the lineage",
                hint="`basin catalog search` lists the datasets recorded so far (`basin run` records them)",
            )
        # Several layers share a table name: the warehouse relation is the usual question.
        unpublished = [m for m in matches if not m.startswith(("published.", "lake.", "source."))]
        if len(unpublished) == 1:
            return unpublished[0]
        raise TerminalError(f"{name} is ambiguous: {', '.join(matches)}", hint="give the full name")

    def tree(
        self, dataset: str, column: str | None = None, *, upstream: bool = True
    ) -> LineageNode:
        """The lineage tree from ``dataset`` (a column of it, or the table)."""
        links = self.up if upstream else self.down
        if (
            column is not None
            and (dataset, column) not in links
            and (dataset, column) not in (self.down if upstream else self.up)
        ):
            known = sorted({c for d, c in (*self.up, *self.down) if d == dataset and c})
            raise TerminalError(
                f"{dataset} has no column {column} in the lineage",
                hint=("its columns: " + ", ".join(known)) if known else None,
            )

        # Each dataset (or column) is expanded once, where the walk first meets it, and
        # is a leaf marked ``repeated`` wherever else it appears: the tree grows with the
        # edges, not with the paths (a diamond of 34 datasets had 131,071 paths).
        expanded: set[tuple[str, str | None]] = set()

        def grow(node: LineageNode, path: frozenset[tuple[str, str | None]]) -> LineageNode:
            key = (node.dataset, node.column)
            if key in expanded:
                node.repeated = bool(links.get(key))
                return node
            expanded.add(key)
            for other, other_column, step in sorted(
                links.get(key, []), key=lambda x: (x[0], x[1] or "")
            ):
                if (other, other_column) in path:
                    continue  # a cycle
                child = LineageNode(other, other_column, step)
                node.children.append(grow(child, path | {(other, other_column)}))
            return node

        return grow(LineageNode(dataset, column), frozenset({(dataset, column)}))
