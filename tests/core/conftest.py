"""Fixtures of other test packages that the cross-cutting tests here use."""

from tests.api.conftest import make_token  # noqa: F401
from tests.observations.conftest import scene  # noqa: F401
