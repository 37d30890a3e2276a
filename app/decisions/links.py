"""What a decision points at in the text: ``DecisionLink`` rows and their rules.

*già recepita* (already covered) names the paragraph of the consulted version that already
says it; *accolta* and *parzialmente accolta* name the stored changes of the round's response
version they caused (optionally narrowed to words). A link to anything outside the round's own
versions is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import CheckConstraint, ForeignKey, exists, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from app.core.db import Base
from app.core.i18n import lazy_gettext as _l
from app.decisions.models import (
    CHANGING,
    OUTCOME_LABELS,
    Decision,
    DecisionError,
    DecisionState,
    Outcome,
)
from app.observations.models import Point
from app.plans.changes import (
    Annotation,
    ChangeSide,
    TextChange,
    TextChangeKind,
    TextChangeParagraph,
    TextChangeSpan,
)
from app.plans.models import Paragraph


class DecisionLink(Base):
    """One thing a decision points at: a paragraph of the consulted version (already
    covered), or a stored change of the round's response version, optionally narrowed to one
    of its word spans."""

    __tablename__ = "decision_links"
    __table_args__ = (
        CheckConstraint(
            "(paragraph_id IS NULL) <> (change_id IS NULL)", name="paragraph_xor_change"
        ),
        CheckConstraint("span_id IS NULL OR change_id IS NOT NULL", name="span_of_a_change"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    paragraph_id: Mapped[int | None] = mapped_column(ForeignKey("plan_paragraphs.id"), index=True)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("text_changes.id"), index=True)
    span_id: Mapped[int | None] = mapped_column(ForeignKey("text_change_spans.id"), index=True)

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
    lines = []
    for link in links_of(session, decision):
        if link.span_id:
            lines.append(f"change:{link.change_id}:words:{link.span_id}")
        elif link.change_id:
            lines.append(f"change:{link.change_id}")
        elif link.paragraph:
            lines.append(f"paragraph:{link.paragraph.key}")
    return "\n".join(lines)


NO_RESPONSE_VERSION = _l(
    "This consultation has no response version yet: an accepted point links to its changes."
)
FOREIGN_CHANGE = _l(
    "Only the changes of this consultation's response version can be linked (not those of "
    "another plan, version or consultation)."
)


def problems_of(session: Session, decision: Decision) -> list:
    return problems_many(session, [decision])[decision.id]


def problems_many(session: Session, decisions) -> dict[int, list]:
    """Why each decision's links do not fit its outcome (by decision id; empty: they fit), in
    two queries whatever the number of decisions."""
    decisions = list(decisions)
    ids = [d.id for d in decisions if d.id is not None]
    links: dict[int, list[DecisionLink]] = {i: [] for i in ids}
    if ids:
        for link in session.scalars(
            select(DecisionLink).where(DecisionLink.decision_id.in_(ids)).order_by(DecisionLink.id)
        ):
            links[link.decision_id].append(link)
    wanted = {
        link.change_id
        for d in decisions
        if d.outcome in CHANGING
        for link in links.get(d.id, [])
        if link.change_id
    }
    current = (
        set(
            session.scalars(
                select(TextChange.id).where(
                    TextChange.id.in_(wanted), TextChange.ended_at.is_(None)
                )
            )
        )
        if wanted
        else set()
    )
    result = {}
    for decision in decisions:
        linked = links.get(decision.id, [])
        problems = []
        if decision.outcome is Outcome.ALREADY_COVERED and not any(
            link.paragraph_id for link in linked
        ):
            problems.append(
                _l("Name the paragraph of the consulted text that already covers the point.")
            )
        elif decision.outcome in CHANGING and not any(link.change_id in current for link in linked):
            problems.append(
                _l(
                    "Link the change of the response version this outcome made: an outcome "
                    "“%(outcome)s” needs at least one.",
                    outcome=OUTCOME_LABELS[decision.outcome],
                )
            )
        result[decision.id] = problems
    return result


def replace(session: Session, decision: Decision, draft) -> None:
    """Make the decision's links what the form sent, checked against the round's versions:
    a paragraph of the consulted version for "already covered", current changes (or their
    word spans) of the response version for "accepted" and "partly accepted"."""
    round_ = decision.point.observation.round
    wanted: set[tuple] = set()
    if decision.outcome is Outcome.ALREADY_COVERED and draft.paragraph_id:
        paragraph = session.get(Paragraph, draft.paragraph_id)
        if paragraph is None or paragraph.version_id != round_.plan_version_id:
            raise DecisionError(
                _l("Choose a paragraph of the version this consultation was about."),
                "paragraph_id",
            )
        wanted.add((paragraph.id, None, None))
    if decision.outcome in CHANGING and (draft.change_ids or draft.span_ids):
        if round_.response_version_id is None:
            raise DecisionError(NO_RESPONSE_VERSION, "changes")
        changes = {
            c.id: c
            for c in session.scalars(select(TextChange).where(TextChange.id.in_(draft.change_ids)))
        }
        spans = {
            s.id: s
            for s in session.scalars(
                select(TextChangeSpan).where(TextChangeSpan.id.in_(draft.span_ids))
            )
        }
        span_changes = {
            c.id: c
            for c in session.scalars(
                select(TextChange).where(TextChange.id.in_({s.change_id for s in spans.values()}))
            )
        }
        if len(changes) < len(set(draft.change_ids)) or len(spans) < len(set(draft.span_ids)):
            raise DecisionError(FOREIGN_CHANGE, "changes")
        for change in [*changes.values(), *span_changes.values()]:
            if change.version_id != round_.response_version_id or change.ended_at is not None:
                raise DecisionError(FOREIGN_CHANGE, "changes")
        wanted |= {(None, c, None) for c in changes}
        wanted |= {(None, s.change_id, s.id) for s in spans.values()}
    for link in links_of(session, decision):
        key = (link.paragraph_id, link.change_id, link.span_id)
        if key in wanted:
            wanted.discard(key)
        else:
            session.delete(link)
    for paragraph_id, change_id, span_id in sorted(wanted, key=str):
        session.add(
            DecisionLink(
                decision_id=decision.id,
                paragraph_id=paragraph_id,
                change_id=change_id,
                span_id=span_id,
            )
        )
    session.flush()


# Coverage -----------------------------------------------------------------------------------


@dataclass
class TextCoverage:
    unlinked_total: int = 0
    unlinked: list = field(default_factory=list)
    unexplained_total: int = 0
    unexplained: list = field(default_factory=list)
    version_problem: object | None = None


def _linked_to_current():
    return exists().where(
        DecisionLink.decision_id == Decision.id,
        DecisionLink.change_id == TextChange.id,
        TextChange.ended_at.is_(None),
    )


def text_coverage(session: Session, round_, *, limit: int) -> TextCoverage:
    """Accepted decisions that link no current change; current changes of the response
    version no published decision links to and not marked editorial; the response version's
    state."""
    from app.decisions.queries import changing_decisions, decidable_points

    result = TextCoverage()
    query = changing_decisions(session, round_).where(~_linked_to_current())
    result.unlinked_total = session.scalar(query.with_only_columns(func.count()).order_by(None))
    result.unlinked = (
        list(session.scalars(query.options(selectinload(Decision.point)).limit(limit)))
        if limit
        else []
    )
    version = round_.response_version
    if version is None:
        anything = session.scalar(
            select(exists(decidable_points(round_).with_only_columns(Point.id).order_by(None)))
        )
        if anything:
            result.version_problem = _l(
                "The consultation has no response version: create the successor in which the "
                "editors answer it."
            )
        return result
    if version.is_draft:
        result.version_problem = _l(
            "The response version is still a draft: freeze it once every change is linked."
        )
    published_link = exists().where(
        DecisionLink.change_id == TextChange.id,
        DecisionLink.decision_id == Decision.id,
        Decision.state == DecisionState.PUBLISHED,
    )
    unexplained = (
        select(TextChange)
        .where(
            TextChange.version_id == version.id,
            TextChange.ended_at.is_(None),
            TextChange.editorial.is_(False),
            ~published_link,
        )
        .order_by(TextChange.id)
    )
    result.unexplained_total = session.scalar(
        unexplained.with_only_columns(func.count()).order_by(None)
    )
    result.unexplained = list(session.scalars(unexplained.limit(limit))) if limit else []
    return result


# The form's values ------------------------------------------------------------------------

KIND_LABELS = {
    TextChangeKind.EDITED: _l("edited"),
    TextChangeKind.ADDED: _l("added"),
    TextChangeKind.REMOVED: _l("removed"),
    TextChangeKind.SPLIT: _l("split"),
    TextChangeKind.MERGED: _l("merged"),
    TextChangeKind.MOVED: _l("moved"),
    TextChangeKind.RENAMED: _l("renamed"),
}

#: How many changes the decision form offers (a response version of a real plan has a few
#: hundred at most).
CHOICES_LIMIT = 1_000


def _short(text: str, length: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"


def change_choices(session: Session, round_) -> list:
    """The current stored changes of the round's response version, each followed by its word
    spans: ``c<id>`` links the change, ``s<id>`` narrows it to those words (two queries)."""
    from wtforms.fields.choices import SelectChoice

    if round_.response_version_id is None:
        return []
    changes = list(
        session.scalars(
            select(TextChange)
            .where(
                TextChange.version_id == round_.response_version_id,
                TextChange.ended_at.is_(None),
            )
            .order_by(TextChange.id)
            .limit(CHOICES_LIMIT)
        )
    )
    spans: dict[int, list[TextChangeSpan]] = {c.id: [] for c in changes}
    for span in session.scalars(
        select(TextChangeSpan)
        .where(TextChangeSpan.change_id.in_(list(spans)))
        .order_by(TextChangeSpan.change_id, TextChangeSpan.ordinal)
    ):
        spans[span.change_id].append(span)
    choices = []
    for change in changes:
        choices.append(
            SelectChoice(
                f"c{change.id}",
                _l("Change %(id)d (%(kind)s)", id=change.id, kind=KIND_LABELS[change.kind]),
            )
        )
        for span in spans[change.id]:
            choices.append(SelectChoice(f"s{span.id}", "— " + span_label(span)))
    return choices


def span_label(span) -> str:
    if span.old_text and span.new_text:
        return str(
            _l("“%(old)s” → “%(new)s”", old=_short(span.old_text), new=_short(span.new_text))
        )
    if span.new_text:
        return str(_l("added “%(new)s”", new=_short(span.new_text)))
    return str(_l("deleted “%(old)s”", old=_short(span.old_text)))


def chosen_values(linked: list[DecisionLink]) -> list[str]:
    return [
        f"s{link.span_id}" if link.span_id else f"c{link.change_id}"
        for link in linked
        if link.change_id
    ]


def parse_values(values) -> tuple[list[int], list[int]]:
    """``c<id>`` names a change, ``s<id>`` a change narrowed to words; the rest is ignored."""
    changes, spans = [], []
    for value in values:
        kind, number = value[:1], value[1:]
        if number.isdigit() and len(number) < 9:
            if kind == "c":
                changes.append(int(number))
            elif kind == "s":
                spans.append(int(number))
    return changes, spans


# The hooks plans offers ---------------------------------------------------------------------


def link_guard(session: Session, ended_change_ids, replaced_span_ids) -> list[str]:
    """The decisions an edit of the response version would orphan, named by point and
    outcome (``plans.changes.register_link_guard``): the edit is refused while any remain."""
    ended, replaced = set(ended_change_ids), set(replaced_span_ids)
    if not ended and not replaced:
        return []
    condition = []
    if ended:
        condition.append(DecisionLink.change_id.in_(ended))
    if replaced:
        condition.append(DecisionLink.span_id.in_(replaced))
    rows = session.execute(
        select(Decision, Point)
        .join(DecisionLink, DecisionLink.decision_id == Decision.id)
        .join(Point, Point.id == Decision.point_id)
        .where(or_(*condition))
        .order_by(Point.id)
        .distinct()
    ).all()
    return [
        str(
            _l(
                "the decision on %(label)s (%(outcome)s)",
                label=point.label,
                outcome=OUTCOME_LABELS[decision.outcome] if decision.outcome else "—",
            )
        )
        for decision, point in rows
    ]


def change_annotator(session: Session, change_ids) -> dict[int, list]:
    """ "Perché è cambiato?": the points whose published decision links to each change, with
    their outcome and the trace page (``plans.changes.register_change_annotator``)."""
    from flask import url_for

    rows = session.execute(
        select(DecisionLink.change_id, Decision, Point)
        .join(Decision, Decision.id == DecisionLink.decision_id)
        .join(Point, Point.id == Decision.point_id)
        .where(
            DecisionLink.change_id.in_(list(change_ids)),
            Decision.state == DecisionState.PUBLISHED,
        )
        .order_by(DecisionLink.change_id, Point.id)
    ).all()
    result: dict[int, list] = {}
    seen = set()
    for change_id, decision, point in rows:
        if (change_id, point.id) in seen:
            continue
        seen.add((change_id, point.id))
        result.setdefault(change_id, []).append(
            Annotation(
                label=point.label,
                outcome=str(OUTCOME_LABELS[decision.outcome]),
                url=url_for("decisions.trace", observation_id=point.observation_id)
                + f"#point-{point.number}",
            )
        )
    return result


# The trace page -----------------------------------------------------------------------------


@dataclass
class Piece:
    text: str
    changed: bool = False


@dataclass
class TracedChange:
    description: str
    before: list | None
    after: list | None
    url: str | None
    #: The stored change (its stable id: the exports name it).
    change_id: int | None = None


def _cut(text: str, ranges) -> list[Piece]:
    """``text`` in pieces, the character ranges marked as changed."""
    pieces, at = [], 0
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if start < at:
            continue
        if start > at:
            pieces.append(Piece(text[at:start]))
        pieces.append(Piece(text[start:end], True))
        at = end
    if at < len(text):
        pieces.append(Piece(text[at:]))
    return pieces


def trace_changes(session: Session, observation) -> dict[int, list[TracedChange]]:
    """Per point of ``observation``: the changes its published decision links to, before and
    after, the inserted and deleted words marked, and where they are in the response version
    (a fixed number of queries, whatever the number of points and changes)."""
    return trace_changes_many(session, observation.round, [observation])


def published_links(observations, what=DecisionLink):
    """``(point id, what)`` for each link to a stored change of the published decisions of the
    points of ``observations`` (ids, or a subquery of them), in point then link order: the
    report's changes and the exports' change ids read the same links."""
    return (
        select(Point.id, what)
        .join(Decision, Decision.point_id == Point.id)
        .join(DecisionLink, DecisionLink.decision_id == Decision.id)
        .where(
            Point.observation_id.in_(observations),
            Decision.state == DecisionState.PUBLISHED,
            DecisionLink.change_id.is_not(None),
        )
        .order_by(Point.id, DecisionLink.id)
    )


def trace_changes_many(session: Session, round_, observations) -> dict[int, list[TracedChange]]:
    """:func:`trace_changes` for several observations of ``round_`` at once (the report's
    page), in the same fixed number of queries."""
    from app.observations.models import ObservationState

    ids = [o.id for o in observations if o.state is not ObservationState.WITHDRAWN]
    if not ids:
        return {}
    links = session.execute(published_links(ids)).all()
    if not links:
        return {}
    shown = shown_changes(
        session, round_, [(point_id, link.change_id, link.span_id) for point_id, link in links]
    )
    result: dict[int, list[TracedChange]] = {}
    for (point_id, _link), traced in zip(links, shown, strict=True):
        result.setdefault(point_id, []).append(traced)
    return result


def shown_changes(session: Session, round_, wanted) -> list[TracedChange]:
    """For each ``(key, change_id, span_id or None)`` of ``wanted``, in order: the stored change
    of the round's response version before and after, the words of its spans (or of that one
    span) marked, and a link to where it is in the response version. Three queries for any
    number of changes."""
    from flask import url_for

    change_ids = {change_id for _key, change_id, _span in wanted}
    if not change_ids:
        return []
    changes = {
        c.id: c for c in session.scalars(select(TextChange).where(TextChange.id.in_(change_ids)))
    }
    sides: dict[int, dict[ChangeSide, list[Paragraph]]] = {
        cid: {ChangeSide.OLD: [], ChangeSide.NEW: []} for cid in change_ids
    }
    for row, paragraph in session.execute(
        select(TextChangeParagraph, Paragraph)
        .join(Paragraph, Paragraph.id == TextChangeParagraph.paragraph_id)
        .where(TextChangeParagraph.change_id.in_(change_ids))
        .order_by(TextChangeParagraph.change_id, TextChangeParagraph.position)
    ):
        sides[row.change_id][row.side].append(paragraph)
    spans: dict[int, list[TextChangeSpan]] = {cid: [] for cid in change_ids}
    for span in session.scalars(
        select(TextChangeSpan)
        .where(TextChangeSpan.change_id.in_(change_ids))
        .order_by(TextChangeSpan.ordinal)
    ):
        spans[span.change_id].append(span)
    version = round_.response_version
    result: list[TracedChange] = []
    for _key, change_id, span_id in wanted:
        change = changes[change_id]
        chosen = [s for s in spans[change.id] if span_id in (None, s.id)]
        old, new = sides[change.id][ChangeSide.OLD], sides[change.id][ChangeSide.NEW]
        if span_id:
            old = [p for p in old if any(s.old_paragraph_id == p.id for s in chosen)]
            new = [p for p in new if any(s.new_paragraph_id == p.id for s in chosen)]

        def marked(paragraphs, side, chosen=chosen):
            out = []
            for paragraph in paragraphs:
                if out:
                    out.append(Piece(" ¶ "))
                ranges = [
                    (s.old_start, s.old_end) if side == "old" else (s.new_start, s.new_end)
                    for s in chosen
                    if (s.old_paragraph_id if side == "old" else s.new_paragraph_id) == paragraph.id
                ]
                out.extend(_cut(paragraph.text, ranges))
            return out or None

        url = None
        if new and version is not None:
            url = url_for(
                "plans.paragraph_link",
                slug=version.plan.slug,
                number=version.number,
                key=new[0].key,
            )
        result.append(
            TracedChange(
                description=str(
                    _l("Change %(id)d (%(kind)s)", id=change.id, kind=KIND_LABELS[change.kind])
                ),
                before=marked(old, "old"),
                after=marked(new, "new"),
                url=url,
                change_id=change.id,
            )
        )
    return result


@dataclass
class Standing:
    """Where a point's anchor stands in the response version, for the pages."""

    description: str
    before: str = ""
    quote: str = ""
    after: str = ""
    text: str = ""
    url: str | None = None


def _describe(followed) -> str:
    from app.plans.anchors import FollowStatus

    status = followed.status
    if status is FollowStatus.SAME:
        return str(_l("Moved, with the same words.") if followed.moved else _l("Unchanged."))
    if status is FollowStatus.EDITED:
        return str(_l("Edited."))
    if status is FollowStatus.SPLIT:
        return str(_l("Split into %(n)d paragraphs.", n=len(followed.paragraphs)))
    if status is FollowStatus.MERGED:
        return str(_l("Merged with other paragraphs."))
    if status is FollowStatus.RENAMED:
        return str(
            _l(
                "The section is now %(number)s %(title)s.",
                number=followed.section.number,
                title=followed.section.title,
            )
        )
    return str(_l("Removed from the response version."))


def follow_points(session: Session, points, round_) -> dict[int, Standing]:
    """Where each point's anchor (section, paragraph, quoted passage) now stands in the
    round's response version: ``plans.anchors.follow_many``, a bounded number of queries."""
    from flask import url_for

    from app.plans.anchors import Anchor, FollowStatus, follow_many

    version = round_.response_version
    points = [p for p in points if p.target.value != "plan"]
    if version is None or not points:
        return {}
    result = {}
    for point, followed in zip(
        points, follow_many(session, [Anchor.of(p) for p in points], version), strict=True
    ):
        standing = Standing(_describe(followed))
        if followed.quote_survives:
            text = followed.quote_paragraph.text
            standing.before = text[: followed.quote_start]
            standing.quote = text[followed.quote_start : followed.quote_end]
            standing.after = text[followed.quote_end :]
        elif point.quote_text and followed.status is not FollowStatus.REMOVED:
            standing.description += " " + str(
                _l("The quoted words are no longer there as they were.")
            )
        if followed.paragraphs and not followed.quote_survives:
            standing.text = " ¶ ".join(p.text for p in followed.paragraphs)
        if followed.paragraphs:
            standing.url = url_for(
                "plans.paragraph_link",
                slug=version.plan.slug,
                number=version.number,
                key=followed.paragraphs[0].key,
            )
        result[point.id] = standing
    return result


def follow_point(session: Session, point, round_) -> Standing | None:
    """:func:`follow_points` for one point."""
    return follow_points(session, [point], round_).get(point.id)
