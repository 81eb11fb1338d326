"""The five seed catalogs of ``realm-config/examples/``, loaded once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.catalog.load import load
from bridge.catalog.model import Catalog

EXAMPLES = Path(__file__).resolve().parents[3] / "realm-config" / "examples"
SEEDS = ("000-field-services", "001-project-management", "002-crm-roles-toggles",
         "003-childcare-technician", "004-accounting-portal")


@pytest.fixture(scope="session")
def seed() -> Callable[[str], Catalog]:
    """``seed("004")`` → the catalog of seed 004."""
    loaded = {name[:3]: load(EXAMPLES / name / "catalog.yaml", {}) for name in SEEDS}
    return loaded.__getitem__
