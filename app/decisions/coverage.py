"""What is missing before a round can be concluded (the coverage page, and the check that
``rounds`` asks before concluding: registered with ``rounds.operations.register_conclusion_check``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.core.i18n import lazy_gettext as _l
from app.decisions import links, queries
from app.rounds.models import Round

#: How many items of each kind the page lists (the counts say how many there are).
LIST_LIMIT = 200


@dataclass
class Coverage:
    undecided_total: int = 0
    undecided: list = field(default_factory=list)
    unlinked_total: int = 0
    unlinked: list = field(default_factory=list)
    unexplained_total: int = 0
    unexplained: list = field(default_factory=list)
    #: None when the round has a frozen response version; else why not.
    version_problem: object | None = None

    @property
    def complete(self) -> bool:
        return not (
            self.undecided_total
            or self.unlinked_total
            or self.unexplained_total
            or self.version_problem
        )

    def gaps(self) -> list:
        """The gaps as sentences (what concluding the round is refused with)."""
        gaps = []
        if self.undecided_total:
            gaps.append(
                _l(
                    "%(n)d admissible points have no published decision.",
                    n=self.undecided_total,
                )
            )
        if self.unlinked_total:
            gaps.append(
                _l(
                    "%(n)d accepted or partly accepted decisions link to no change of the "
                    "response version.",
                    n=self.unlinked_total,
                )
            )
        if self.unexplained_total:
            gaps.append(
                _l(
                    "%(n)d changes of the response version are linked to no point and not "
                    "marked editorial.",
                    n=self.unexplained_total,
                )
            )
        if self.version_problem:
            gaps.append(self.version_problem)
        return gaps


def coverage(session: Session, round_: Round, *, limit: int = LIST_LIMIT) -> Coverage:
    result = Coverage()
    result.undecided_total, result.undecided = queries.undecided_points(
        session, round_, limit=limit
    )
    text = links.text_coverage(session, round_, limit=limit)
    result.unlinked_total, result.unlinked = text.unlinked_total, text.unlinked
    result.unexplained_total, result.unexplained = text.unexplained_total, text.unexplained
    result.version_problem = text.version_problem
    return result


def conclusion_check(session: Session, round_: Round) -> list:
    return coverage(session, round_, limit=0).gaps()
