"""Moderation state, kept beside the observations it concerns, never on them.

A registered observation's row is immutable (see ``app.observations.models``); what staff
decide about it lives here: its **triage** (one row per registered observation, created in the
transaction that registers it), every **transition** of that triage, its searchable text, its
tags and the internal notes. The triage life cycle is in one place, :data:`TRANSITIONS`.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.db import Base, UTCDateTime, enum_type, utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.refusals import Refusal
from app.observations.models import Observation
from app.plans.models import PolicyArea
from app.stakeholders.models import Zone


class ModerationError(Refusal):
    """A refusal to show the moderator as it is (the message is translatable)."""


class Conflict(ModerationError):
    """Someone else changed the item since the page was shown: nothing was changed."""


class TriageState(enum.StrEnum):
    RECEIVED = "received"
    ADMISSIBLE = "admissible"
    NOT_ADMISSIBLE = "not_admissible"
    ASSIGNED = "assigned"
    DECIDED = "decided"


#: Every triage action: the states it leaves from, and the state it leads to. Who may take
#: each is ``app.moderation.permissions.TRANSITION_PERMISSIONS``.
TRANSITIONS: dict[str, tuple[frozenset[TriageState], TriageState]] = {
    "admit": (
        frozenset({TriageState.RECEIVED, TriageState.NOT_ADMISSIBLE}),
        TriageState.ADMISSIBLE,
    ),
    "reject": (
        frozenset({TriageState.RECEIVED, TriageState.ADMISSIBLE}),
        TriageState.NOT_ADMISSIBLE,
    ),
    "reopen": (
        frozenset({TriageState.ADMISSIBLE, TriageState.NOT_ADMISSIBLE}),
        TriageState.RECEIVED,
    ),
    "assign": (frozenset({TriageState.ADMISSIBLE}), TriageState.ASSIGNED),
    "unassign": (frozenset({TriageState.ASSIGNED}), TriageState.ADMISSIBLE),
    # (admissible too: where a round lets any editor decide, a point needs no assignee)
    "decide": (
        frozenset({TriageState.ADMISSIBLE, TriageState.ASSIGNED}),
        TriageState.DECIDED,
    ),
}

#: The actions a moderator takes on the queue's item page (the others follow assignment and
#: decisions).
TRIAGE_ACTIONS = ("admit", "reject", "reopen")

STATE_LABELS = {
    TriageState.RECEIVED: _l("received"),
    TriageState.ADMISSIBLE: _l("admissible"),
    TriageState.NOT_ADMISSIBLE: _l("not admissible"),
    TriageState.ASSIGNED: _l("assigned"),
    TriageState.DECIDED: _l("decided"),
}

#: What the author reads on the tracking page for each state.
PUBLIC_STATE_LABELS = {
    TriageState.RECEIVED: _l("received, waiting to be examined"),
    TriageState.ADMISSIBLE: _l("admitted: it will be examined"),
    TriageState.NOT_ADMISSIBLE: _l("not admissible"),
    TriageState.ASSIGNED: _l("being examined"),
    TriageState.DECIDED: _l("decided"),
}

ACTION_LABELS = {
    "admit": _l("Admit"),
    "reject": _l("Mark not admissible"),
    "reopen": _l("Back to received"),
    "assign": _l("Assign"),
    "unassign": _l("Withdraw the assignment"),
    "decide": _l("Decide"),
}

REASON_MAX = 2_000


class Triage(Base):
    """Where a registered observation stands in moderation (one row each)."""

    __tablename__ = "triage"
    __table_args__ = (
        CheckConstraint(
            "(state = 'not_admissible') = (reason IS NOT NULL)", name="reason_iff_not_admissible"
        ),
        Index("ix_triage_state", "state"),
    )

    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), primary_key=True)
    state: Mapped[TriageState] = mapped_column(
        enum_type(TriageState, "state"), default=TriageState.RECEIVED
    )
    #: Why it is not admissible, as the author reads it on the tracking page.
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Optimistic lock: a form sends back the value its page was made from.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    observation: Mapped[Observation] = relationship()

    def move(self, action: str) -> tuple[TriageState, TriageState]:
        """Take ``action`` if the state allows it; return (from, to). Raises otherwise."""
        allowed, target = TRANSITIONS[action]
        if self.state not in allowed:
            raise ModerationError(
                _l(
                    "An observation that is %(state)s cannot be changed that way.",
                    state=STATE_LABELS[self.state],
                )
            )
        before = self.state
        self.state = target
        return before, target


class TriageTransition(Base):
    """One change of a triage state: who, when, from what, to what (and the reason given)."""

    __tablename__ = "triage_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    #: None for the first row, written when the observation is registered.
    from_state: Mapped[TriageState | None] = mapped_column(enum_type(TriageState, "from_state"))
    to_state: Mapped[TriageState] = mapped_column(enum_type(TriageState, "to_state"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The reason given with a "not admissible" (kept here, never in the audit trail).
    reason: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship()


class TextStatus(enum.StrEnum):
    EXTRACTED = "extracted"
    #: The file holds no text to read (a scanned PDF, an empty document).
    EMPTY = "empty"
    #: The reader could not open it (damaged, encrypted, too complex).
    FAILED = "failed"


class AttachmentText(Base):
    """The text read from an attachment once, when its observation was registered (the
    attachment itself, like the observation, never changes)."""

    __tablename__ = "attachment_texts"

    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("observation_attachments.id"), primary_key=True
    )
    status: Mapped[TextStatus] = mapped_column(enum_type(TextStatus, "status"))
    text: Mapped[str] = mapped_column(Text, default="")
    #: The text was longer than the cap and was cut there.
    truncated: Mapped[bool] = mapped_column(default=False)
    extracted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SearchDocument(Base):
    """What the full-text search reads for one observation: title, body, proposed text and
    attachment text, with diacritics folded (so "mobilità" and "mobilita" are one word on
    both databases). The migrations index it: an FTS5 table on SQLite; on PostgreSQL a stored
    generated column ``document_fts`` (``to_tsvector('italian', document)``) with a GIN index,
    which the models do not describe (see ``app.moderation.search``)."""

    __tablename__ = "search_documents"

    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    document: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# Tags --------------------------------------------------------------------------------------


class TagFamily(enum.StrEnum):
    #: The six *ambiti di policy*, seeded (renamed and recoloured, never created or merged).
    POLICY_AREA = "policy_area"
    #: Themes, managed by staff.
    THEME = "theme"
    #: One per *zona omogenea* of the registry, seeded from it.
    ZONE = "zone"


#: Tag colours: each gives white text a contrast of at least 4.5:1 (WCAG AA, asserted in the
#: tests); the CSS classes ``tag-<name>`` in static/css/traccia.css hold the same values.
PALETTE = {
    "blue": "#0b5cad",
    "teal": "#00695c",
    "green": "#2e6b30",
    "purple": "#6a3d9a",
    "magenta": "#a3195b",
    "red": "#b71c1c",
    "brown": "#6d4c41",
    "slate": "#455a64",
    "orange": "#a84300",
}

NAME_MAX = 80


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (
        CheckConstraint(
            "(family = 'policy_area') = (policy_area IS NOT NULL)", name="policy_area_iff_family"
        ),
        CheckConstraint("(family = 'zone') = (zone_id IS NOT NULL)", name="zone_iff_family"),
        CheckConstraint(
            "colour IN (" + ", ".join(f"'{c}'" for c in PALETTE) + ")", name="colour_in_palette"
        ),
        CheckConstraint("name_key <> ''", name="name_not_empty"),
        CheckConstraint(
            "merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_itself"
        ),
        #: Names are unique within a family, case and accents aside, among tags still in use.
        Index(
            "ix_tags_family_name_key",
            "family",
            "name_key",
            unique=True,
            sqlite_where=text("merged_into_id IS NULL"),
            postgresql_where=text("merged_into_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[TagFamily] = mapped_column(enum_type(TagFamily, "family"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    #: The name folded (lower case, no accents, single spaces): what "the same name" means.
    name_key: Mapped[str] = mapped_column(String(NAME_MAX))
    colour: Mapped[str] = mapped_column(String(20), default="blue")
    policy_area: Mapped[PolicyArea | None] = mapped_column(
        enum_type(PolicyArea, "policy_area"), unique=True
    )
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), unique=True)
    #: Set when the tag was merged into another: its assignments moved there, the row stays
    #: so that the audit trail's ids keep meaning something.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tags.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    zone: Mapped[Zone | None] = relationship()

    @property
    def in_use(self) -> bool:
        return self.merged_into_id is None


class ObservationTag(Base):
    """A tag on an observation: who put it there, and when."""

    __tablename__ = "observation_tags"

    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True, index=True)
    tagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tag: Mapped[Tag] = relationship(lazy="joined", innerjoin=True)


FAMILY_LABELS = {
    TagFamily.POLICY_AREA: _l("Policy areas"),
    TagFamily.THEME: _l("Themes"),
    TagFamily.ZONE: _l("Zone omogenee"),
}

COLOUR_LABELS = {
    "blue": _l("blue"),
    "teal": _l("teal"),
    "green": _l("green"),
    "purple": _l("purple"),
    "magenta": _l("magenta"),
    "red": _l("red"),
    "brown": _l("brown"),
    "slate": _l("slate grey"),
    "orange": _l("dark orange"),
}


NOTE_MAX = 5_000


class InternalNote(Base):
    """A staff member's note on an observation: for staff only, never on a public page, in an
    export or an e-mail (nothing outside ``moderation`` reads this table)."""

    __tablename__ = "internal_notes"
    __table_args__ = (CheckConstraint("body <> ''", name="body_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), index=True)
    #: Set for a note on one point of the observation (None: on the observation as a whole).
    point_id: Mapped[int | None] = mapped_column(ForeignKey("points.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


# Points: tags and assignment ---------------------------------------------------------------


class PointTag(Base):
    """A tag on one point of an observation."""

    __tablename__ = "point_tags"

    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True, index=True)
    tagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointAssignment(Base):
    """A point given to a plan editor to decide (a point may have several)."""

    __tablename__ = "point_assignments"

    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"), primary_key=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    editor: Mapped[User] = relationship(foreign_keys=[editor_id])


# Publication: redactions and hidden items (app.moderation.redaction, .publication) ---------

#: What the public reads in place of a redacted passage.
OMISSIS = "[omissis]"


class Redaction(Base):
    """A passage of an observation's ``body_text`` the public reads as ``[omissis]`` (personal
    data, offensive words): who, when, why. The observation keeps its words for staff; a
    redaction is lifted (``lifted_at``), never deleted. Active redactions never overlap."""

    __tablename__ = "redactions"
    __table_args__ = (
        CheckConstraint("start_offset >= 0 AND end_offset > start_offset", name="range_ordered"),
        CheckConstraint("reason <> ''", name="reason_not_empty"),
        CheckConstraint(
            "(lifted_at IS NULL) = (lifted_by_id IS NULL)", name="lifted_by_iff_lifted"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), index=True)
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    replacement: Mapped[str] = mapped_column(String(40), default=OMISSIS)
    #: Why (for staff: never published, never in the audit trail).
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")


class PublicationHide(Base):
    """An observation (``point_id`` None) or one of its points kept out of publication, with
    the moderator's reason; lifted, never deleted."""

    __tablename__ = "publication_hides"
    __table_args__ = (
        CheckConstraint("reason <> ''", name="reason_not_empty"),
        CheckConstraint(
            "(lifted_at IS NULL) = (lifted_by_id IS NULL)", name="lifted_by_iff_lifted"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), index=True)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("points.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    hidden_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    hidden_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    hidden_by: Mapped[User] = relationship(foreign_keys=[hidden_by_id], lazy="joined")


# Groups of campaigns and near-duplicates (app.moderation.grouping) ---------------------------


class GroupState(enum.StrEnum):
    #: Found by the detection, waiting for a moderator.
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


GROUP_STATE_LABELS = {
    GroupState.PROPOSED: _l("proposed"),
    GroupState.CONFIRMED: _l("confirmed"),
    GroupState.DISMISSED: _l("dismissed"),
}


class SimilarityGroup(Base):
    """Observations of one round with the same or nearly the same text (a form letter, a
    campaign, a comune submitting twice). Never a merge: every member stays an observation
    of its own, numbered and answered."""

    __tablename__ = "similarity_groups"
    __audit_type__ = "similarity_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    state: Mapped[GroupState] = mapped_column(
        enum_type(GroupState, "state"), default=GroupState.PROPOSED
    )
    #: The member whose text stands for the others (the "template").
    template_id: Mapped[int] = mapped_column(ForeignKey("observations.id"))
    #: The lowest similarity of a member to the template, 0 to 1.
    score: Mapped[float] = mapped_column(default=1.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    template: Mapped[Observation] = relationship(foreign_keys=[template_id])


class GroupMember(Base):
    """One observation in a group: how like the template it is, and whether it adds text of
    its own (then it must not be answered by the template's answer alone)."""

    __tablename__ = "similarity_group_members"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 1", name="score_in_range"),
        Index("ix_similarity_group_members_observation_id", "observation_id"),
    )

    group_id: Mapped[int] = mapped_column(ForeignKey("similarity_groups.id"), primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), primary_key=True)
    score: Mapped[float] = mapped_column(default=1.0)
    adds_something: Mapped[bool] = mapped_column(default=False)
    #: Words of the member that the template does not have (at most a few, for the page).
    differing_words: Mapped[str] = mapped_column(Text, default="")
    #: Words of the template that the member does not have.
    missing_words: Mapped[str] = mapped_column(Text, default="")
    #: Who added the member by hand (None: found by the detection).
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# Suggestions, kept apart from decisions (app.moderation.suggestions) ------------------------


class SuggestionKind(enum.StrEnum):
    POLICY_AREA = "policy_area"
    SECTION = "section"


class SuggestionState(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


class Source(enum.StrEnum):
    """Where a tag or an anchor came from."""

    PERSON = "person"
    SUGGESTION = "suggestion"


class Suggestion(Base):
    """A machine's guess of a point's policy area or section, with its score. It changes
    nothing until a moderator accepts it (then it becomes a tag or the point's anchor)."""

    __tablename__ = "suggestions"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'policy_area') = (policy_area IS NOT NULL)"
            " AND (kind = 'section') = (section_id IS NOT NULL)",
            name="target_matches_kind",
        ),
        Index("ix_suggestions_point_id", "point_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    kind: Mapped[SuggestionKind] = mapped_column(enum_type(SuggestionKind, "kind"))
    policy_area: Mapped[PolicyArea | None] = mapped_column(enum_type(PolicyArea, "policy_area"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("plan_sections.id"))
    score: Mapped[float] = mapped_column()
    #: 1 for the best of its kind for the point, then 2, 3.
    rank: Mapped[int] = mapped_column(Integer)
    state: Mapped[SuggestionState] = mapped_column(
        enum_type(SuggestionState, "state"), default=SuggestionState.OPEN
    )
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# Where each tag came from (a person, or an accepted suggestion): added to the link tables.
def _source_column():
    return mapped_column(
        enum_type(Source, "source"),
        default=Source.PERSON,
        server_default=Source.PERSON.value,
        nullable=False,
    )


ObservationTag.source = _source_column()
PointTag.source = _source_column()
