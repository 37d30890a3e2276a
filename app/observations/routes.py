from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from app.api.ratelimit import limiter
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.refusals import show_refusal
from app.core.security import public
from app.core.timezones import local_to_utc
from app.extensions import db
from app.observations import operations, receipts
from app.observations.forms import (
    CHANNEL_LABELS,
    KIND_LABELS,
    IntakeForm,
    ObservationForm,
    TrackForm,
    WithdrawForm,
)
from app.observations.models import (
    Attachment,
    Channel,
    Observation,
    ObservationError,
    ObservationKind,
    ObservationState,
)
from app.plans.tree import load_tree
from app.rounds.eligibility import user_may_submit
from app.rounds.models import Round
from app.rounds.permissions import can_manage_rounds, can_see_round
from app.stakeholders.models import Organisation

bp = Blueprint("observations", __name__)

STATE_LABELS = {
    ObservationState.DRAFT: _l("draft, not sent"),
    ObservationState.SUBMITTED: _l("registered"),
    ObservationState.WITHDRAWN: _l("withdrawn"),
}

PAGE_SIZE = 50


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        observation_kind_labels=KIND_LABELS,
        channel_labels=CHANNEL_LABELS,
        observation_state_labels=STATE_LABELS,
    )


def _int_arg(name: str) -> int | None:
    value = request.values.get(name, "")
    return int(value) if value.isdigit() and len(value) < 9 else None


def _round_for_writing(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None or not can_see_round(current_user, round_):
        abort(404)
    if not user_may_submit(current_user, round_):
        abort(403)
    return round_


def _own(observation_id: int) -> Observation:
    observation = db.session.get(Observation, observation_id)
    if observation is None or not operations.can_follow(current_user, observation):
        abort(404)
    return observation


def _commit_or_explain(change, success: str) -> None:
    """Run an operation and commit, or roll back and say why it was refused."""
    try:
        change()
    except ObservationError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
    else:
        db.session.commit()
        flash(success, "success")


def _attachment(observation_id: int, attachment_id: int) -> tuple[Observation, Attachment]:
    observation = _own(observation_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.observation_id != observation.id:
        abort(404)
    return observation, attachment


def _anchor_from_request(round_: Round) -> operations.Anchor:
    return operations.resolve_anchor(
        db.session,
        round_,
        section_key=request.values.get("section") or None,
        paragraph_key=request.values.get("paragraph") or None,
        quote=request.values.get("quote") or None,
        start=_int_arg("start"),
        end=_int_arg("end"),
    )


def _content(form: ObservationForm) -> dict:
    return {
        "title": form.title.data or "",
        "body_html": operations.text_as_html(form.body.data or ""),
        "kind": ObservationKind(form.kind.data or ObservationKind.OBSERVATION.value),
        "proposed_text": form.proposed_text.data,
        "consent_public_name": bool(form.consent_public_name.data),
    }


def _save_text(observation: Observation, form: ObservationForm) -> None:
    operations.save_draft(db.session, observation, user=current_user, **_content(form))


def _attach_upload(observation: Observation, form: ObservationForm) -> None:
    upload = form.attachment.data
    if upload and getattr(upload, "filename", ""):
        operations.add_attachment(
            db.session,
            observation,
            user=current_user,
            filename=upload.filename,
            data=upload.read(),
        )


def _registered_meanwhile(observation_id: int):
    """After a race with another request on the same draft (a double click, a second tab):
    its receipt if the other request registered it, else None (the draft, reloaded)."""
    db.session.rollback()
    stored = db.session.get(Observation, observation_id)
    if stored is not None and not stored.is_draft:
        return redirect(url_for("observations.receipt", observation_id=stored.id))
    return None


def _conflict() -> None:
    flash(
        _(
            "This draft was changed in another window meanwhile. Your text is below, not "
            "saved: copy what you need, reload the page, and save again."
        ),
        "danger",
    )


def _save_and_maybe_submit(observation: Observation, form: ObservationForm, now):
    """Save the text (committed first: nothing typed is ever lost), then the attachment (a
    refused file loses nothing else), then submit if asked. ``now`` is when the request
    arrived: waiting for the database never makes a submission late."""
    observation_id = observation.id
    for step in (_save_text, _attach_upload):
        try:
            step(observation, form)
            db.session.commit()
        except ObservationError as error:
            db.session.rollback()
            stored = db.session.get(Observation, observation_id)
            if stored is not None and not stored.is_draft:  # registered by the first click
                return redirect(url_for("observations.receipt", observation_id=stored.id))
            show_refusal(form, error)
            return None
        except (IntegrityError, StaleDataError):
            receipt = _registered_meanwhile(observation_id)
            if receipt is not None:
                return receipt
            stored = db.session.get(Observation, observation_id)
            if step is _save_text and operations.holds(stored, **_content(form)):
                observation = stored  # a double click: the other copy saved the same text
                continue
            _conflict()
            return None
    if request.form.get("action") != "submit":
        flash(_("Draft saved. It is not sent until you submit it."), "success")
        return redirect(url_for("observations.edit", observation_id=observation.id))
    return _submit(observation, form, now)


def _submit(observation: Observation, form, now):
    try:
        operations.submit(db.session, observation, actor=current_user, now=now)
    except operations.AlreadySubmitted as already:
        return redirect(url_for("observations.receipt", observation_id=already.observation.id))
    except operations.ChangedMeanwhile:
        receipt = _registered_meanwhile(observation.id)
        if receipt is None:
            _conflict()
        return receipt
    except ObservationError as error:
        db.session.rollback()
        show_refusal(form, error)
        flash(_("Your text is kept as a draft."), "info")
        return None
    db.session.commit()
    return redirect(url_for("observations.receipt", observation_id=observation.id))


@bp.route("/rounds/<int:round_id>/observations/new", methods=["GET", "POST"])
def new_observation(round_id: int):
    arrived = utcnow()
    round_ = _round_for_writing(round_id)
    try:
        anchor = _anchor_from_request(round_)
    except ObservationError as error:
        flash(str(error.message), "danger")
        return redirect(url_for("rounds.show_round", round_id=round_.id))
    form = ObservationForm()
    if request.method == "GET":
        form.form_token.data = secrets.token_urlsafe(24)
        if request.args.get("kind") in {k.value for k in ObservationKind}:
            form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        token = (form.form_token.data or "")[:64] or None
        existing = token and db.session.scalar(
            select(Observation).where(Observation.form_token == token)
        )
        if existing:  # the same form again: continue with what it made
            if existing.author_id != current_user.id:
                abort(404)
            if not existing.is_draft:
                return redirect(url_for("observations.receipt", observation_id=existing.id))
            observation = existing
        else:
            try:
                observation = operations.start_draft(
                    db.session,
                    round_,
                    author=current_user,
                    anchor=anchor,
                    now=arrived,
                    form_token=token,
                )
                db.session.commit()
            except IntegrityError:
                # The same form arrived twice at once and the other copy made the draft.
                db.session.rollback()
                twin = db.session.scalar(select(Observation).where(Observation.form_token == token))
                if twin is None or twin.author_id != current_user.id:
                    raise
                return redirect(url_for("observations.edit", observation_id=twin.id))
            except ObservationError as error:
                db.session.rollback()
                show_refusal(form, error)
                return render_template(
                    "observations/edit.html",
                    form=form,
                    round=round_,
                    anchor=anchor,
                    observation=None,
                ), 422
        response = _save_and_maybe_submit(observation, form, arrived)
        if response is not None:
            return response
        return render_template(
            "observations/edit.html",
            form=form,
            round=round_,
            anchor=anchor,
            observation=db.session.get(Observation, observation.id),
        ), 422
    return render_template(
        "observations/edit.html", form=form, round=round_, anchor=anchor, observation=None
    )


@bp.route("/observations/<int:observation_id>/edit", methods=["GET", "POST"])
def edit(observation_id: int):
    arrived = utcnow()
    observation = _own(observation_id)
    if not observation.is_draft:
        return redirect(url_for("observations.receipt", observation_id=observation.id))
    if observation.author_id != current_user.id:
        abort(404)
    form = ObservationForm(obj=observation)
    if request.method == "GET":
        form.body.data = operations.html_as_text(observation.body_html)
        form.kind.data = observation.kind.value
        form.lock_version.data = str(observation.lock_version)
    anchor = operations.Anchor.of(observation)
    if form.validate_on_submit():
        if form.lock_version.data and form.lock_version.data != str(observation.lock_version):
            flash(
                _(
                    "This draft was changed in another window meanwhile. Your text is below, not "
                    "saved: copy what you need, reload the page, and save again."
                ),
                "danger",
            )
            return render_template(
                "observations/edit.html",
                form=form,
                round=observation.round,
                anchor=anchor,
                observation=observation,
            ), 409
        response = _save_and_maybe_submit(observation, form, arrived)
        if response is not None:
            return response
        form.lock_version.data = str(db.session.get(Observation, observation.id).lock_version)
        return render_template(
            "observations/edit.html",
            form=form,
            round=observation.round,
            anchor=anchor,
            observation=observation,
        ), 422
    return render_template(
        "observations/edit.html",
        form=form,
        round=observation.round,
        anchor=anchor,
        observation=observation,
    )


@bp.post("/observations/<int:observation_id>/attachments/<int:attachment_id>/remove")
def remove_attachment(observation_id: int, attachment_id: int):
    observation, attachment = _attachment(observation_id, attachment_id)
    _commit_or_explain(
        lambda: operations.remove_attachment(
            db.session, observation, attachment, user=current_user
        ),
        _("Attachment removed."),
    )
    return redirect(url_for("observations.edit", observation_id=observation.id))


@bp.get("/observations/<int:observation_id>/attachments/<int:attachment_id>")
def download(observation_id: int, attachment_id: int):
    """Always a download, never rendered inline, with the type found in its content."""
    _, attachment = _attachment(observation_id, attachment_id)
    response = make_response(attachment.data)
    response.headers["Content-Type"] = attachment.content_type
    response.headers["Content-Disposition"] = _attachment_disposition(attachment.filename)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _attachment_disposition(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@bp.get("/observations/<int:observation_id>/")
def receipt(observation_id: int):
    observation = _own(observation_id)
    if observation.is_draft:
        return redirect(url_for("observations.edit", observation_id=observation.id))
    code = None
    if observation.author_id == current_user.id or (
        observation.organisation_id and observation.organisation_id == current_user.organisation_id
    ):
        candidate = receipts.verification_code(observation.protocol_code)
        if receipts.code_matches(observation, candidate):
            code = candidate
    return render_template(
        "observations/receipt.html",
        observation=observation,
        code=code,
        withdraw_form=WithdrawForm(),
        can_withdraw=observation.state is ObservationState.SUBMITTED
        and observation.round.is_open_at(utcnow())
        and operations.can_withdraw(current_user, observation),
        can_correct=observation.round.is_open_at(utcnow())
        and user_may_submit(current_user, observation.round),
    )


@bp.post("/observations/<int:observation_id>/withdraw")
def withdraw(observation_id: int):
    observation = _own(observation_id)
    if not operations.can_withdraw(current_user, observation):
        abort(403)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    _commit_or_explain(
        lambda: operations.withdraw(
            db.session, observation, user=current_user, reason=form.reason.data
        ),
        _("The observation has been withdrawn. It stays on record as withdrawn."),
    )
    return redirect(url_for("observations.receipt", observation_id=observation.id))


@bp.post("/observations/<int:observation_id>/correct")
def correct(observation_id: int):
    observation = _own(observation_id)
    try:
        draft = operations.start_correction(db.session, observation, user=current_user)
    except ObservationError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return redirect(url_for("observations.receipt", observation_id=observation.id))
    db.session.commit()
    flash(
        _(
            "A new draft that corrects %(protocol)s: change it and submit it.",
            protocol=observation.protocol_code,
        ),
        "info",
    )
    return redirect(url_for("observations.edit", observation_id=draft.id))


@bp.get("/observations/mine")
def mine():
    """The user's observations, drafts included, and those of their organisation."""
    conditions = [Observation.author_id == current_user.id]
    if current_user.organisation_id:
        conditions.append(
            (Observation.organisation_id == current_user.organisation_id)
            & (Observation.state != ObservationState.DRAFT)
        )
    query = (
        select(Observation)
        .where(or_(*conditions))
        .options(selectinload(Observation.attachments).load_only(Attachment.id))
        .order_by(Observation.created_at.desc(), Observation.id.desc())
    )
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False)
    return render_template("observations/mine.html", page=page)


# Staff intake ------------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/intake", methods=["GET", "POST"])
def intake(round_id: int):
    if not can_manage_rounds(current_user):
        abort(403)
    round_ = db.get_or_404(Round, round_id)
    form = IntakeForm()
    form.organisation_id.choices = [
        SelectChoice(row.id, row.name)
        for row in db.session.execute(
            select(Organisation.id, Organisation.name)
            .where(Organisation.active.is_(True))
            .order_by(Organisation.name)
        )
    ]
    tree = load_tree(db.session, round_.version)
    form.section.choices = [SelectChoice("", _("The plan as a whole"))] + [
        SelectChoice(node.section.key, f"{node.section.number} {node.section.title}".strip())
        for node in tree.walk()
    ]
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.organisation_id.data)
        upload = form.original.data
        originals = [(upload.filename, upload.read())] if upload and upload.filename else []
        try:
            anchor = operations.resolve_anchor(
                db.session,
                round_,
                section_key=form.section.data or None,
                paragraph_key=(form.paragraph.data or "").strip() or None,
            )
            observation = operations.record_intake(
                db.session,
                round_,
                actor=current_user,
                organisation=organisation,
                channel=Channel(form.channel.data),
                received_at=local_to_utc(form.received_at.data),
                signatory=form.signatory.data,
                anchor=anchor,
                kind=ObservationKind(form.kind.data),
                title=form.title.data,
                body_html=operations.text_as_html(form.body.data),
                proposed_text=form.proposed_text.data,
                consent_public_name=form.consent_public_name.data,
                originals=originals,
            )
        except ObservationError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Recorded as %(protocol)s.", protocol=observation.protocol_code), "success")
            return redirect(url_for("observations.receipt", observation_id=observation.id))
        return render_template("observations/intake.html", form=form, round=round_), 422
    return render_template("observations/intake.html", form=form, round=round_)


# Following an observation from its receipt ---------------------------------------------------


@bp.route("/track", methods=["GET", "POST"])
@public
def track():
    """Anyone holding a receipt (protocol number and verification code) sees where it is."""
    form = TrackForm()
    found = None
    status = 200
    if form.validate_on_submit():
        client = request.remote_addr or "unknown"
        limit = current_app.config["TRACK_ATTEMPTS_PER_MINUTE"]
        wait = limiter.hit(f"track:{client}", limit)
        if wait is not None:
            from app.core.errors import error_response

            response = error_response(429)
            response.headers["Retry-After"] = str(wait)
            return response
        # One query on the number and the code's hash together: a known number with a wrong
        # code does exactly the work of an unknown number (no timing oracle, issue 11).
        found = db.session.scalar(
            select(Observation).where(
                Observation.protocol_code == form.protocol.data.strip().upper(),
                Observation.verification_hash == receipts.hash_code(form.code.data),
            )
        )
        if found is None:
            status = 404
            flash(_("No observation matches this protocol number and code."), "danger")
    return render_template("observations/track.html", form=form, observation=found), status
