"""What can happen to an observation: draft, save, attach, submit (with its protocol number and
receipt), withdraw, correct, and staff intake of what arrived by PEC, letter, e-mail or meeting.

Functions flush but never commit; the caller commits once. ``submit`` is safe against double
clicks and concurrent retries: the number is taken from the round's counter and the state moves
from draft in one guarded UPDATE, and a second submission of the same draft finds it submitted
and changes nothing (:class:`AlreadySubmitted`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.urls import absolute_url
from app.notifications.operations import queue_email
from app.observations import receipts
from app.observations.files import AttachmentError, check_attachment
from app.observations.models import (
    INTAKE_CHANNELS,
    Attachment,
    Channel,
    NotEligibleError,
    Observation,
    ObservationError,
    ObservationKind,
    ObservationState,
    OutsideWindowError,
    Target,
)
from app.plans.models import Paragraph, Section
from app.plans.text import clean_html, plain_text
from app.rounds.eligibility import organisation_is_eligible, user_may_submit
from app.rounds.models import ProtocolCounter, Round, RoundState
from app.stakeholders.models import Organisation

TITLE_MAX = 300
QUOTE_MAX = 5_000


class ChangedMeanwhile(ObservationError):
    """The draft was saved elsewhere (another tab) between loading and submitting it: what
    would be registered is not what the author saw, so nothing is registered."""


class AlreadySubmitted(Exception):
    """The draft was submitted meanwhile (a double click, a retry): show its receipt."""

    def __init__(self, observation: Observation):
        super().__init__(observation.protocol_code)
        self.observation = observation


@dataclass(frozen=True)
class Anchor:
    target: Target
    section: Section | None = None
    paragraph: Paragraph | None = None
    quote_text: str | None = None
    quote_start: int | None = None
    quote_end: int | None = None

    @classmethod
    def of(cls, observation: Observation) -> Anchor:
        return cls(**{name: getattr(observation, name) for name in ANCHOR_FIELDS})

    def fields(self) -> dict:
        """The observation's columns this anchor fills."""
        return {name: getattr(self, name) for name in ANCHOR_FIELDS}


ANCHOR_FIELDS = ("target", "section", "paragraph", "quote_text", "quote_start", "quote_end")


# Text typed in a form ----------------------------------------------------------------------


def text_as_html(text: str) -> str:
    """Plain text as typed: blank lines separate paragraphs, single newlines are kept."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n"))]
    return "".join(
        "<p>" + "<br>".join(html.escape(line, quote=False) for line in block.split("\n")) + "</p>"
        for block in blocks
        if block
    )


def html_as_text(fragment: str) -> str:
    """The inverse of ``text_as_html`` for editing a draft in a text box."""
    text = re.sub(r"<br\s*/?>", "\n", fragment or "")
    text = re.sub(r"</p>\s*<p[^>]*>", "\n\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


# Anchors -----------------------------------------------------------------------------------


def resolve_anchor(
    session: Session,
    round_: Round,
    *,
    section_key: str | None = None,
    paragraph_key: str | None = None,
    quote: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> Anchor:
    """Where an observation points, checked against the round's version of the text."""
    version_id = round_.plan_version_id
    if paragraph_key:
        paragraph = session.scalar(
            select(Paragraph).where(
                Paragraph.version_id == version_id, Paragraph.key == paragraph_key
            )
        )
        if paragraph is None:
            raise ObservationError(_l("This paragraph is not in the text of this round."), "anchor")
        if quote is None or not quote.strip():
            return Anchor(Target.PARAGRAPH, paragraph.section, paragraph)
        start, end = _locate_quote(paragraph.text, quote, start, end)
        return Anchor(
            Target.PASSAGE, paragraph.section, paragraph, paragraph.text[start:end], start, end
        )
    if section_key:
        section = session.scalar(
            select(Section).where(Section.version_id == version_id, Section.key == section_key)
        )
        if section is None:
            raise ObservationError(_l("This section is not in the text of this round."), "anchor")
        return Anchor(Target.SECTION, section)
    return Anchor(Target.PLAN)


def _locate_quote(text: str, quote: str, start: int | None, end: int | None) -> tuple[int, int]:
    """The offsets of the quoted passage in the paragraph's plain text.

    The offsets sent by the browser are trusted only if they point at exactly the quoted words;
    otherwise the passage is searched for (its first occurrence, spacing ignored at the ends).
    """
    if len(quote) > QUOTE_MAX:
        raise ObservationError(_l("The quoted passage is too long."), "anchor")
    offsets_fit = start is not None and end is not None and 0 <= start < end <= len(text)
    if offsets_fit and text[start:end] == quote:
        return start, end
    wanted = quote.strip()
    found = text.find(wanted) if wanted else -1
    if found < 0:
        raise ObservationError(
            _l("The quoted passage is not in the paragraph: select it again in the text."),
            "anchor",
        )
    return found, found + len(wanted)


# Drafts ------------------------------------------------------------------------------------


def _speaking_for(user: User, round_: Round) -> Organisation | None:
    if Role.STAKEHOLDER in user.roles and organisation_is_eligible(round_, user.organisation):
        return user.organisation
    return None


def _require_window(round_: Round, now: datetime) -> bool:
    """Refuse unless the round takes submissions now; return whether they are late."""
    accepted, late = round_.accepts_at(now)
    if not accepted:
        if now < round_.opens_at or round_.state in (RoundState.DRAFT,):
            raise OutsideWindowError(_l("This round is not open yet."))
        raise OutsideWindowError(
            _l(
                "This round closed on %(date)s: observations are no longer accepted.",
                date=_local(round_.closes_at),
            )
        )
    return late


def _local(moment: datetime) -> str:
    from flask_babel import format_datetime

    return format_datetime(moment, "short")


def start_draft(
    session: Session,
    round_: Round,
    *,
    author: User,
    anchor: Anchor,
    kind: ObservationKind = ObservationKind.OBSERVATION,
    now: datetime | None = None,
    form_token: str | None = None,
) -> Observation:
    now = now or utcnow()
    if not user_may_submit(author, round_):
        raise NotEligibleError(
            _l("Your organisation is not among those taking part in this round.")
        )
    _require_window(round_, now)
    observation = Observation(
        round=round_,
        organisation=_speaking_for(author, round_),
        author=author,
        channel=Channel.WEB,
        kind=kind,
        form_token=form_token,
        **anchor.fields(),
    )
    session.add(observation)
    session.flush()
    record(session, "observation.draft_started", actor=author, obj=observation)
    return observation


def _require_own_draft(observation: Observation, user: User) -> None:
    if observation.author_id != user.id:
        raise ObservationError(_l("Only the author can change a draft."))
    if not observation.is_draft:
        raise ObservationError(
            _l("A submitted observation cannot be changed: send a correction instead.")
        )


def save_draft(
    session: Session,
    observation: Observation,
    *,
    user: User,
    title: str,
    body_html: str,
    kind: ObservationKind,
    proposed_text: str | None,
    consent_public_name: bool,
) -> None:
    """Keep what the author wrote so far (no completeness check: that comes at submission)."""
    _require_own_draft(observation, user)
    body_html = clean_html(body_html or "")
    observation.title = (title or "").strip()[:TITLE_MAX]
    observation.body_html = body_html
    observation.body_text = plain_text(body_html)
    observation.kind = kind
    observation.proposed_text = (proposed_text or "").strip() or None
    observation.consent_public_name = consent_public_name
    session.flush()


def holds(observation: Observation, **content) -> bool:
    """Whether the draft already holds this content (as ``save_draft`` would store it)."""
    body_html = clean_html(content["body_html"] or "")
    return (
        observation.title == (content["title"] or "").strip()[:TITLE_MAX]
        and observation.body_html == body_html
        and observation.kind == content["kind"]
        and observation.proposed_text == ((content["proposed_text"] or "").strip() or None)
        and observation.consent_public_name == content["consent_public_name"]
    )


def add_attachment(
    session: Session, observation: Observation, *, user: User | None, filename: str, data: bytes
) -> Attachment:
    if user is not None:
        _require_own_draft(observation, user)
    config = current_app.config
    if len(observation.attachments) >= config["ATTACHMENTS_MAX_COUNT"]:
        raise ObservationError(
            _l("At most %(n)d attachments per observation.", n=config["ATTACHMENTS_MAX_COUNT"]),
            "attachment",
        )
    try:
        checked = check_attachment(filename, data, max_bytes=config["ATTACHMENT_MAX_BYTES"])
    except AttachmentError as error:
        raise ObservationError(error.message, "attachment") from None
    for existing in observation.attachments:
        if existing.sha256 == checked.sha256:
            return existing  # the same file twice (e.g. a double click) is kept once
    attachment = Attachment(
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        data=checked.data,
    )
    observation.attachments.append(attachment)
    observation.updated_at = utcnow()  # the content changed: bump the version the digest checks
    session.flush()
    return attachment


def remove_attachment(
    session: Session, observation: Observation, attachment: Attachment, *, user: User
) -> None:
    _require_own_draft(observation, user)
    if attachment.observation_id != observation.id:
        raise ObservationError(_l("No such attachment."))
    observation.attachments.remove(attachment)
    session.delete(attachment)
    observation.updated_at = utcnow()  # the content changed: bump the version the digest checks
    session.flush()


# Submission --------------------------------------------------------------------------------


def problems(observation: Observation) -> dict[str, str]:
    """What keeps a draft from being submitted, field by field."""
    found = {}
    if not observation.title:
        found["title"] = _l("Give the observation a title.")
    if not observation.body_text:
        found["body"] = _l("Write the observation.")
    elif len(observation.body_text) > current_app.config["OBSERVATION_MAX_CHARS"]:
        found["body"] = _l(
            "The text is longer than %(n)d characters: attach a document instead.",
            n=current_app.config["OBSERVATION_MAX_CHARS"],
        )
    if observation.kind is ObservationKind.AMENDMENT:
        if observation.target not in (Target.PARAGRAPH, Target.PASSAGE):
            found["kind"] = _l("An amendment proposes new text for a paragraph or a passage.")
        elif not observation.proposed_text:
            found["proposed_text"] = _l("Write the text you propose.")
    return found


def submit(
    session: Session,
    observation: Observation,
    *,
    actor: User,
    now: datetime | None = None,
    send_receipt: bool = True,
) -> Observation:
    """Register the draft: protocol number, digest, receipt e-mail (unless ``send_receipt`` is
    false: demo data sends nothing), audit entry."""
    now = now or utcnow()
    if observation.state is not ObservationState.DRAFT:
        raise AlreadySubmitted(observation)
    round_ = observation.round
    if observation.author_id != actor.id:
        raise ObservationError(_l("Only the author can submit a draft."))
    if not user_may_submit(actor, round_) or (
        observation.organisation_id is not None
        and observation.organisation_id != actor.organisation_id
    ):
        raise NotEligibleError(
            _l("Your organisation is not among those taking part in this round.")
        )
    late = _require_window(round_, now)
    missing = problems(observation)
    if missing:
        first_field, message = next(iter(missing.items()))
        raise ObservationError(message, first_field)
    _register(session, observation, late=late, now=now, send_receipt=send_receipt)
    return observation


def _register(
    session: Session,
    observation: Observation,
    *,
    late: bool,
    now: datetime,
    send_receipt: bool = True,
) -> None:
    round_ = observation.round
    number = session.execute(
        update(ProtocolCounter)
        .where(ProtocolCounter.round_id == round_.id)
        .values(last_number=ProtocolCounter.last_number + 1)
        .returning(ProtocolCounter.last_number)
    ).scalar_one()
    code = round_.protocol_code(number)
    fingerprint = receipts.digest(observation, protocol_code=code, submitted_at=now)
    # One guarded UPDATE: only the draft as it was read becomes submitted. A second submission
    # (a double click, a concurrent retry) or a save from another tab in between changes no
    # row, so the digest always describes exactly what is stored.
    result = session.execute(
        update(Observation)
        .where(
            Observation.id == observation.id,
            Observation.state == ObservationState.DRAFT,
            Observation.lock_version == observation.lock_version,
        )
        .values(
            state=ObservationState.SUBMITTED,
            protocol_number=number,
            protocol_code=code,
            submitted_at=now,
            late=late,
            digest=fingerprint,
            verification_hash=receipts.hash_code(receipts.verification_code(code)),
            received_at=observation.received_at or now,
            updated_at=now,
            lock_version=Observation.lock_version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        # Give the number back (the counter's increment is undone with the transaction): this
        # is the one place an operation rolls back, and why callers commit a draft first.
        observation_id = observation.id
        session.rollback()
        stored = session.get(Observation, observation_id)
        if stored.is_draft:
            raise ChangedMeanwhile(
                _l(
                    "This draft was changed in another window meanwhile: check it and submit "
                    "it again."
                )
            )
        raise AlreadySubmitted(stored)
    session.refresh(observation)
    record(
        session,
        "observation.submitted",
        actor=observation.author,
        obj=observation,
        protocol=code,
        channel=observation.channel.value,
        late=late,
        digest=fingerprint,
    )
    if send_receipt:
        _queue_receipt(session, observation)


def _queue_receipt(session: Session, observation: Observation) -> None:
    recipient = observation.author
    if observation.channel in INTAKE_CHANNELS:
        # Recorded by staff: the receipt goes to the organisation's address, if any.
        organisation = observation.organisation
        address = (organisation.pec or organisation.email) if organisation else None
        if not address:
            return
        to, locale, name = address, None, organisation.name
    else:
        to, locale, name = recipient.email, recipient.locale, recipient.display_name
    queue_email(
        session,
        to=to,
        template="observations/email/receipt",
        context={
            "observation": observation,
            "name": name,
            "code": receipts.verification_code(observation.protocol_code),
            "link": absolute_url("observations.receipt", observation_id=observation.id),
            "track_link": absolute_url("observations.track"),
        },
        locale=locale,
    )


# After submission --------------------------------------------------------------------------


def can_follow(user, observation: Observation) -> bool:
    """A draft: its author alone. Once submitted: the author, the referents of the same
    organisation, and staff."""
    from app.core.permissions import is_staff

    if not getattr(user, "is_authenticated", False):
        return False
    if observation.author_id == user.id:
        return True
    if observation.is_draft:
        return False
    if is_staff(user):
        return True
    return (
        observation.organisation_id is not None
        and observation.organisation_id == user.organisation_id
    )


def can_withdraw(user, observation: Observation) -> bool:
    """The author, or a referent of the same organisation (staff do not withdraw for them)."""
    if not getattr(user, "is_authenticated", False) or observation.channel in INTAKE_CHANNELS:
        return False
    return observation.author_id == user.id or (
        observation.organisation_id is not None
        and observation.organisation_id == user.organisation_id
    )


def withdraw(
    session: Session,
    observation: Observation,
    *,
    user: User,
    reason: str,
    now: datetime | None = None,
) -> None:
    """The author (or a referent of the same organisation) withdraws it before the close."""
    now = now or utcnow()
    if observation.state is not ObservationState.SUBMITTED:
        raise ObservationError(_l("Only a submitted observation can be withdrawn."))
    if not can_withdraw(user, observation):
        raise ObservationError(_l("Only the author or their organisation can withdraw it."))
    if not observation.round.is_open_at(now):
        raise ObservationError(
            _l("The round has closed: the observation can no longer be withdrawn.")
        )
    observation.state = ObservationState.WITHDRAWN
    observation.withdrawn_at = now
    observation.withdrawal_reason = (reason or "").strip()[:2000] or None
    session.flush()
    record(
        session,
        "observation.withdrawn",
        actor=user,
        obj=observation,
        protocol=observation.protocol_code,
        reason=observation.withdrawal_reason,
    )


def start_correction(
    session: Session, original: Observation, *, user: User, now: datetime | None = None
) -> Observation:
    """A new draft that corrects a submitted observation (which stays as it was)."""
    if original.is_draft:
        raise ObservationError(_l("A draft can simply be edited."))
    anchor = Anchor.of(original)
    draft = start_draft(
        session, original.round, author=user, anchor=anchor, kind=original.kind, now=now
    )
    if draft.organisation_id != original.organisation_id:
        raise ObservationError(_l("Only the author or their organisation can correct it."))
    draft.corrects = original
    draft.title = original.title
    draft.body_html = original.body_html
    draft.body_text = original.body_text
    draft.proposed_text = original.proposed_text
    draft.consent_public_name = original.consent_public_name
    session.flush()
    return draft


# Staff intake ------------------------------------------------------------------------------


def record_intake(
    session: Session,
    round_: Round,
    *,
    actor: User,
    organisation: Organisation,
    channel: Channel,
    received_at: datetime,
    signatory: str | None,
    anchor: Anchor,
    kind: ObservationKind,
    title: str,
    body_html: str,
    proposed_text: str | None,
    consent_public_name: bool,
    originals: list[tuple[str, bytes]],
    now: datetime | None = None,
) -> Observation:
    """Register an observation that reached the body outside Traccia, with its original (the
    first file) and any other documents that came with it."""
    now = now or utcnow()
    if channel not in INTAKE_CHANNELS:
        raise ObservationError(_l("Choose how the observation arrived."), "channel")
    if received_at > now:
        raise ObservationError(_l("The date received cannot be in the future."), "received_at")
    if not organisation.active:
        raise ObservationError(_l("This organisation is not active."), "organisation_id")
    if round_.state in (RoundState.DRAFT, RoundState.CONCLUDED):
        raise ObservationError(_l("This round does not take observations now."))
    # What counts is when it reached the body, not when staff record it (which may be after the
    # close, or during the review).
    if received_at < round_.opens_at:
        raise ObservationError(_l("It arrived before the round opened."), "received_at")
    late = received_at >= round_.closes_at
    if late and not round_.accept_late:
        raise ObservationError(
            _l("It arrived after the close, and this round does not accept late observations."),
            "received_at",
        )
    if not originals:
        raise ObservationError(_l("Attach the original document as received."), "original")
    body_html = clean_html(body_html or "")
    observation = Observation(
        round=round_,
        organisation=organisation,
        author=actor,
        channel=channel,
        received_at=received_at,
        signatory=(signatory or "").strip() or None,
        kind=kind,
        **anchor.fields(),
        title=(title or "").strip()[:TITLE_MAX],
        body_html=body_html,
        body_text=plain_text(body_html),
        proposed_text=(proposed_text or "").strip() or None,
        consent_public_name=consent_public_name,
    )
    session.add(observation)
    session.flush()
    for filename, data in originals:
        add_attachment(session, observation, user=None, filename=filename, data=data)
    missing = problems(observation)
    if missing:
        first_field, message = next(iter(missing.items()))
        raise ObservationError(message, first_field)
    _register(session, observation, late=late, now=now)
    record(
        session,
        "observation.recorded",
        actor=actor,
        obj=observation,
        channel=channel.value,
        organisation_id=organisation.id,
    )
    return observation
