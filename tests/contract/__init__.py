"""The shared contract suite of :class:`scim.backend.ScimBackend` (see ``backend_contract``)."""

import pytest

# The suite's assertions live outside the test modules that run it: have pytest rewrite
# them too, so that a failure shows the values compared.
pytest.register_assert_rewrite("tests.contract.backend_contract")
