"""Fixtures shared by the personalize_local service tests (the stack itself is tests/fixtures/stack.py)."""

from __future__ import annotations

import pytest

from tests.personalize_local.helpers import Scenario


@pytest.fixture(scope="session")
def sc(local_stack) -> Scenario:
    return Scenario(local_stack)


@pytest.fixture(scope="session")
def trained(sc) -> dict:
    """A group with imported interactions + items, a popularity solution and its ACTIVE version."""
    group, bucket = sc.populated_group(with_items=True)
    solution = sc.solution(group)
    version = sc.version(solution)
    assert version["status"] == "ACTIVE", version
    return {"group": group, "bucket": bucket, "solution": solution, "version": version["solutionVersionArn"]}
