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
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.core.audit import lock_chain, record
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
    Point,
    Target,  # noqa: F401 - callers build anchors from operations.Anchor and Target
)
from app.observations.permissions import can_withdraw
from app.plans import anchors
from app.plans.anchors import Anchor
from app.plans.text import clean_html, plain_text
from app.rounds.eligibility import organisation_is_eligible
from app.rounds.models import ProtocolCounter, Round, RoundState
from app.rounds.permissions import can_submit
from app.stakeholders.models import Organisation

TITLE_MAX = 300
QUOTE_MAX = anchors.QUOTE_MAX


class ChangedMeanwhile(ObservationError):
    """The draft was saved elsewhere (another tab) between loading and submitting it: what
    would be registered is not what the author saw, so nothing is registered."""


class AlreadySubmitted(Exception):
    """The draft was submitted meanwhile (a double click, a retry): show its receipt."""

    def __init__(self, observation: Observation):
        super().__init__(observation.protocol_code)
        self.observation = observation


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


def resolve_anchor(session: Session, round_: Round, **keys) -> Anchor:
    """Where an observation points (``section_key``, ``paragraph_key``, ``quote``, ``start``,
    ``end``, as :func:`app.plans.anchors.resolve` takes them), checked against the round's
    version of the text."""
    try:
        return anchors.resolve(session, round_.plan_version_id, **keys)
    except anchors.AnchorError as error:
        raise ObservationError(error.message, error.field) from None


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
    from app.core.formats import format_when

    return format_when(moment)


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
    if not can_submit(author, round_):
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


def delete_draft(session: Session, observation: Observation, *, user: User) -> None:
    """The author deletes a draft of theirs (never a registered observation), with its
    attachments; the audit trail keeps that it existed and who deleted it."""
    _require_own_draft(observation, user)
    observation_id = observation.id
    record(
        session,
        "observation.draft_deleted",
        actor=user,
        obj=observation,
        round_id=observation.round_id,
    )
    session.flush()
    # Guarded like the registration: a draft submitted meanwhile (another tab) is not deleted.
    session.expunge(observation)
    session.execute(delete(Attachment).where(Attachment.observation_id == observation_id))
    gone = session.execute(
        delete(Observation).where(
            Observation.id == observation_id, Observation.state == ObservationState.DRAFT
        )
    )
    if gone.rowcount != 1:
        raise ObservationError(
            _l("A submitted observation cannot be changed: send a correction instead.")
        )


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
    return problems_of(
        title=observation.title,
        body_text=observation.body_text,
        kind=observation.kind,
        proposed_text=observation.proposed_text,
    )


def problems_of(*, title, body_text, kind, proposed_text) -> dict[str, str]:
    """:func:`problems` for values not (yet) in a draft, e.g. a new form sent empty."""
    found = {}
    if not title:
        found["title"] = _l("Give the observation a title.")
    if not body_text:
        found["body"] = _l("Write the observation.")
    elif len(body_text) > current_app.config["OBSERVATION_MAX_CHARS"]:
        found["body"] = _l(
            "The text is longer than %(n)d characters: attach a document instead.",
            n=current_app.config["OBSERVATION_MAX_CHARS"],
        )
    if kind is ObservationKind.AMENDMENT and not proposed_text:
        found["proposed_text"] = _l("Write the text you propose.")
    return found


def _require_complete(observation: Observation) -> None:
    """Refuse an incomplete observation, naming every missing field at once."""
    missing = problems(observation)
    if missing:
        (first_field, message), *others = missing.items()
        raise ObservationError(message, first_field, more=dict(others))


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
    if not can_submit(actor, round_) or (
        observation.organisation_id is not None
        and observation.organisation_id != actor.organisation_id
    ):
        raise NotEligibleError(
            _l("Your organisation is not among those taking part in this round.")
        )
    late = _require_window(round_, now)
    _require_complete(observation)
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
    # The audit chain's head before the round's counter, in every registration (the API's has
    # audited the draft already, the web form's not yet): two never wait on each other.
    lock_chain(session)
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
    session.add(first_point(observation))
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
    from app.moderation.operations import on_registered  # moderation builds on observations

    on_registered(session, observation, now=now)
    if send_receipt:
        _queue_receipt(session, observation)


def first_point(observation: Observation) -> Point:
    """Point 1 of a registered observation: its anchor, and the whole of its text."""
    length = len(observation.body_text or "")
    return Point(
        observation=observation,
        number=1,
        **Anchor.of(observation).fields(),
        excerpt_start=0 if length else None,
        excerpt_end=length or None,
        summary=None if length else observation.title,
    )


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
        reason_given=observation.withdrawal_reason is not None,
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
    _require_complete(observation)
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
