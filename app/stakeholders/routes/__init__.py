"""The registry's pages (staff: administrators and moderators) and the public page where an
invited referent accepts (``stakeholders.*`` endpoints), one module per concern:
``organisations`` (and their referents), ``invitations``, ``collections`` (zones and groups),
``imports``; ``common`` holds the blueprint and what they share."""

from app.stakeholders.routes import (  # noqa: F401 - add the views
    collections,
    imports,
    invitations,
    organisations,
)
from app.stakeholders.routes.common import bp

__all__ = ["bp"]
