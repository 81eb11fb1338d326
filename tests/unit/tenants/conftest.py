"""The seed catalogs, as the catalog tests load them."""

from tests.unit.catalog.conftest import seed

__all__ = ["seed"]
