from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.unit.build.support import example_plan

if TYPE_CHECKING:
    from tamma_ops.plan import Plan


@pytest.fixture
def plan() -> Plan:
    return example_plan()
