"""What a decision points at in the text: ``DecisionLink`` rows and their rules.

*già recepita* (already covered) names the paragraph of the consulted version that already
says it; *accolta* and *parzialmente accolta* name the stored changes of the round's response
version they caused (optionally narrowed to words). A link to anything outside the round's own
versions is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import CheckConstraint, ForeignKey, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.core.db import Base
from app.core.i18n import lazy_gettext as _l
from app.decisions.models import Decision, DecisionError, Outcome
from app.plans.models import Paragraph


class DecisionLink(Base):
    """One thing a decision points at: a paragraph of the consulted version (already covered)."""

    __tablename__ = "decision_links"
    __table_args__ = (CheckConstraint("paragraph_id IS NOT NULL", name="links_something"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    paragraph_id: Mapped[int | None] = mapped_column(ForeignKey("plan_paragraphs.id"), index=True)

    paragraph: Mapped[Paragraph | None] = relationship()


def links_of(session: Session, decision: Decision) -> list[DecisionLink]:
    if decision.id is None:
        return []
    return list(
        session.scalars(
            select(DecisionLink)
            .where(DecisionLink.decision_id == decision.id)
            .order_by(DecisionLink.id)
        )
    )


def describe(session: Session, decision: Decision) -> str:
    """The links as a revision keeps them: one a line, by stable key or id."""
    return "\n".join(
        f"paragraph:{link.paragraph.key}" for link in links_of(session, decision) if link.paragraph
    )


def problems_of(session: Session, decision: Decision) -> list:
    links = links_of(session, decision)
    if decision.outcome is Outcome.ALREADY_COVERED and not any(link.paragraph_id for link in links):
        return [_l("Name the paragraph of the consulted text that already covers the point.")]
    return []


def replace(session: Session, decision: Decision, draft) -> None:
    """Make the decision's links what the form sent (checked against the round's versions)."""
    round_ = decision.point.observation.round
    wanted: set[int] = set()
    if decision.outcome is Outcome.ALREADY_COVERED and draft.paragraph_id:
        paragraph = session.get(Paragraph, draft.paragraph_id)
        if paragraph is None or paragraph.version_id != round_.plan_version_id:
            raise DecisionError(
                _l("Choose a paragraph of the version this consultation was about."),
                "paragraph_id",
            )
        wanted.add(paragraph.id)
    for link in links_of(session, decision):
        if link.paragraph_id in wanted:
            wanted.discard(link.paragraph_id)
        else:
            session.delete(link)
    for paragraph_id in sorted(wanted):
        session.add(DecisionLink(decision_id=decision.id, paragraph_id=paragraph_id))
    session.flush()


@dataclass
class TextCoverage:
    unlinked_total: int = 0
    unlinked: list = field(default_factory=list)
    unexplained_total: int = 0
    unexplained: list = field(default_factory=list)
    version_problem: object | None = None


def text_coverage(session: Session, round_, *, limit: int) -> TextCoverage:
    """Accepted decisions that link no change; changes no decision explains; the response
    version's state."""
    from app.decisions.queries import changing_decisions

    query = changing_decisions(session, round_)
    total = session.scalar(query.with_only_columns(func.count()).order_by(None))
    rows = list(session.scalars(query.limit(limit))) if limit else []
    return TextCoverage(unlinked_total=total, unlinked=rows)


# The form's values ------------------------------------------------------------------------


def change_choices(session: Session, round_) -> list:
    """The stored changes of the round's response version an editor may link to."""
    return []


def chosen_values(linked: list[DecisionLink]) -> list[str]:
    return []


def parse_values(values) -> tuple[list[int], list[int]]:
    """``c<id>`` names a change, ``s<id>`` a change narrowed to words; the rest is ignored."""
    changes, spans = [], []
    for value in values:
        kind, number = value[:1], value[1:]
        if number.isdigit() and len(number) < 9:
            (changes if kind == "c" else spans if kind == "s" else []).append(int(number))
    return changes, spans


def follow_point(session: Session, point, round_):
    """Where the point's anchor stands in the round's response version (None: no version)."""
    return None


def trace_changes(session: Session, observation) -> dict[int, list]:
    """Per point of ``observation``: the changes its published decision links to."""
    return {}
