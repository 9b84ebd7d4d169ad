"""Which planned jobs a planned job waits for: its nearest planned ancestors, through unplanned ones."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from tutopanda.core.engine.runner import nearest_planned_ancestors


def _in_order(
    order: list[str], upstream: dict[str, frozenset[str]], in_plan: set[str]
) -> dict[str, set[str]]:
    """The reference: one pass over every job in topological order (what the runner did before)."""
    through: dict[str, frozenset[str]] = {}
    waits: dict[str, set[str]] = {}
    for job_id in order:
        parents: set[str] = set()
        for parent in upstream.get(job_id, ()):
            parents |= {parent} if parent in in_plan else through.get(parent, frozenset())
        if job_id in in_plan:
            waits[job_id] = parents
        else:
            through[job_id] = frozenset(parents)
    return waits


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[list[str], dict[str, frozenset[str]], set[str]]:
    size = draw(st.integers(1, 25))
    order = [f"Producer:J[{index}]" for index in range(size)]
    upstream: dict[str, frozenset[str]] = {}
    for index, job_id in enumerate(order):
        parents = draw(st.sets(st.sampled_from(order[:index]))) if index else set()
        if parents:
            upstream[job_id] = frozenset(parents)
    planned = draw(st.sets(st.sampled_from(order)))
    return order, upstream, planned


@given(_graphs())
def test_the_walk_from_the_planned_jobs_equals_a_pass_over_the_whole_graph(
    graph: tuple[list[str], dict[str, frozenset[str]], set[str]],
) -> None:
    order, upstream, planned = graph
    assert nearest_planned_ancestors(upstream, planned) == _in_order(order, upstream, planned)


def test_a_chain_of_thousands_of_unplanned_jobs_is_looked_through_without_recursion() -> None:
    chain = [f"Producer:C[{index}]" for index in range(20_000)]
    upstream = {child: frozenset({parent}) for parent, child in itertools.pairwise(chain)}
    assert nearest_planned_ancestors(upstream, {chain[0], chain[-1]}) == {
        chain[0]: set(),
        chain[-1]: {chain[0]},
    }
