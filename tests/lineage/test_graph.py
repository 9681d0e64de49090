"""A lineage tree grows with the edges, not with the paths: each dataset is expanded
once and marked where it appears again."""

from __future__ import annotations

from basin.lineage.graph import LineageGraph


def _ladder(rungs: int) -> list[tuple[str, None, str, None, str]]:
    """d0 feeds a and b; a and b each feed d1; … : 2**rungs paths from the top to d0."""
    edges = []
    for i in range(rungs):
        for side in ("a", "b"):
            edges.append((f"m.{side}{i}", None, f"m.d{i}", None, "transform"))
            edges.append((f"m.d{i + 1}", None, f"m.{side}{i}", None, "transform"))
    return edges


def test_a_diamond_ladder_gives_one_node_per_edge() -> None:
    edges = _ladder(16)  # 49 datasets, 64 edges, 65,536 paths
    graph = LineageGraph(edges)
    tree = graph.tree("m.d16")
    nodes = list(tree.walk())
    assert len(nodes) <= len(edges) + 1
    expanded = [n.dataset for n in nodes if n.children]
    assert sorted(expanded) == sorted(set(expanded))  # each dataset expanded once
    assert {n.dataset for n in nodes} == graph.names  # and none is lost
    assert any(n.repeated for n in nodes)
    down = graph.tree("m.d0", upstream=False)
    assert len(list(down.walk())) <= len(edges) + 1


def test_a_cycle_does_not_loop() -> None:
    graph = LineageGraph(
        [("m.a", None, "m.b", None, "transform"), ("m.b", None, "m.a", None, "transform")]
    )
    tree = graph.tree("m.a")
    assert [n.dataset for n in tree.walk()] == ["m.a", "m.b"]
