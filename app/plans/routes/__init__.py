"""The plans blueprint (``plans.*`` endpoints), one module per concern: ``reading`` (public
pages and the diff), ``versions`` (plans and a version's life cycle), ``imports`` and
``editing``; ``common`` holds the blueprint and the loaders they share."""

from app.plans.routes import (  # noqa: F401 - add the views
    changes,
    editing,
    imports,
    reading,
    versions,
)
from app.plans.routes.common import bp

__all__ = ["bp"]
