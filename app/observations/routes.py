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
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from app.core.confirm import ask_first
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.pagination import paginate
from app.core.permissions import is_logged_in, require
from app.core.ratelimit import limiter
from app.core.refusals import commit_or_refuse, show_refusal
from app.core.security import public
from app.core.timezones import local_to_utc
from app.extensions import db
from app.observations import operations, receipts
from app.observations.files import AttachmentError, check_attachment
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
from app.observations.permissions import (
    can_correct,
    can_edit_draft,
    can_follow,
    can_record_intake,
    can_speak_for,
    can_withdraw,
)
from app.observations.queries import OBSERVATION, by_receipt, followed_by
from app.plans.frozen import frozen_tree
from app.rounds.models import Round
from app.rounds.permissions import can_see_round, can_submit
from app.rounds.queries import ROUND
from app.stakeholders.models import Organisation
from app.stakeholders.queries import active_organisation_names

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


def _attachment(observation: Observation, attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.observation_id != observation.id:
        abort(404)
    return attachment


def _anchor_from_request(round_: Round, *, quote: bool = True) -> operations.Anchor:
    """Where the new observation points: the URL's section or paragraph, and the quoted words
    (typed in the form's field, else those the selection in the text put in the URL)."""
    typed = request.form.get("quote") if request.method == "POST" else None
    return operations.resolve_anchor(
        db.session,
        round_,
        section_key=request.values.get("section") or None,
        paragraph_key=request.values.get("paragraph") or None,
        quote=(typed if typed is not None else request.args.get("quote")) if quote else None,
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


def _nothing_to_keep(form: ObservationForm) -> int | None:
    """A new form with nothing typed makes no draft ("nothing typed is lost" needs nothing
    more): say what is missing, or why the lone file is refused, and answer 422; None when
    there is something to keep."""
    if any((getattr(form, name).data or "").strip() for name in ("title", "body", "proposed_text")):
        return None
    upload = form.attachment.data
    if upload and getattr(upload, "filename", ""):
        data = upload.read()
        upload.stream.seek(0)
        try:
            check_attachment(
                upload.filename, data, max_bytes=current_app.config["ATTACHMENT_MAX_BYTES"]
            )
        except AttachmentError as error:
            form.attachment.errors = [*form.attachment.errors, str(error.message)]
            return 422
        return None  # a file alone is worth a draft
    if request.form.get("action") == "submit":
        missing = operations.problems_of(
            title="",
            body_text="",
            kind=ObservationKind(form.kind.data or "observation"),
            proposed_text="",
        )
        for name, message in missing.items():
            field = getattr(form, name)
            field.errors = [*field.errors, str(message)]
    else:
        flash(_("There is nothing to save yet: write a title or a text first."), "info")
    return 422


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
    """Save the text, then the attachment, then submit if asked: the one view that commits
    more than once, on purpose. The text is committed first (nothing typed is ever lost), the
    attachment next (a refused file loses nothing else), and registering is a transaction of
    its own (a refused submission keeps the saved draft). ``now`` is when the request
    arrived: waiting for the database never makes a submission late."""
    observation_id = observation.id
    for step in (_save_text, _attach_upload):
        try:
            with commit_or_refuse(show=False) as attempt:
                step(observation, form)
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
        if not attempt.done:
            stored = db.session.get(Observation, observation_id)
            if stored is not None and not stored.is_draft:  # registered by the first click
                return redirect(url_for("observations.receipt", observation_id=stored.id))
            show_refusal(form, attempt.refusal)
            return None
    if request.form.get("action") != "submit":
        flash(_("Draft saved. It is not sent until you submit it."), "success")
        return redirect(url_for("observations.edit", observation_id=observation.id))
    return _submit(observation, form, now)


def _submit(observation: Observation, form, now):
    try:
        with commit_or_refuse(show=False) as attempt:
            operations.submit(db.session, observation, actor=current_user, now=now)
    except operations.AlreadySubmitted as already:
        return redirect(url_for("observations.receipt", observation_id=already.observation.id))
    if attempt.done:
        return redirect(url_for("observations.receipt", observation_id=observation.id))
    if isinstance(attempt.refusal, operations.ChangedMeanwhile):
        receipt = _registered_meanwhile(observation.id)
        if receipt is None:
            _conflict()
        return receipt
    show_refusal(form, attempt.refusal)
    flash(_("Your text is kept as a draft."), "info")
    return None


@bp.route("/rounds/<int:round_id>/observations/new", methods=["GET", "POST"])
@require(is_logged_in, load=ROUND, visible=can_see_round, allowed=can_submit)
def new_observation(round_: Round):
    arrived = utcnow()
    form = ObservationForm()
    try:
        anchor = _anchor_from_request(round_)
    except ObservationError as error:
        if not request.form.get("quote"):
            flash(str(error.message), "danger")
            return redirect(url_for("rounds.show_round", round_id=round_.id))
        # Typed words not found in the paragraph: say so on the field, keep everything typed.
        anchor = _anchor_from_request(round_, quote=False)
        form.validate()
        form.quote.errors = [
            *form.quote.errors,
            _("These words are not in the paragraph: copy them exactly as they are written."),
        ]
        return render_template(
            "observations/edit.html", form=form, round=round_, anchor=anchor, observation=None
        ), 422
    if request.method == "GET":
        form.form_token.data = secrets.token_urlsafe(24)
        form.quote.data = anchor.quote_text or ""
        if request.args.get("kind") in {k.value for k in ObservationKind}:
            form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        token = (form.form_token.data or "")[:64] or None
        existing = token and db.session.scalar(
            select(Observation).where(Observation.form_token == token)
        )
        if not existing and (refused := _nothing_to_keep(form)):
            return render_template(
                "observations/edit.html", form=form, round=round_, anchor=anchor, observation=None
            ), refused
        if existing:  # the same form again: continue with what it made
            if existing.author_id != current_user.id:
                abort(404)
            if not existing.is_draft:
                return redirect(url_for("observations.receipt", observation_id=existing.id))
            observation = existing
        else:
            try:
                with commit_or_refuse(form) as attempt:  # committed before its text is saved
                    observation = operations.start_draft(
                        db.session,
                        round_,
                        author=current_user,
                        anchor=anchor,
                        now=arrived,
                        form_token=token,
                    )
            except IntegrityError:
                # The same form arrived twice at once and the other copy made the draft.
                db.session.rollback()
                twin = db.session.scalar(select(Observation).where(Observation.form_token == token))
                if twin is None or twin.author_id != current_user.id:
                    raise
                return redirect(url_for("observations.edit", observation_id=twin.id))
            if not attempt.done:
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
@require(is_logged_in, load=OBSERVATION, visible=can_follow)
def edit(observation: Observation):
    arrived = utcnow()
    if not observation.is_draft:
        return redirect(url_for("observations.receipt", observation_id=observation.id))
    if not can_edit_draft(current_user, observation):  # staff follow drafts, never edit them
        abort(404)
    form = ObservationForm(obj=observation)
    if request.method == "GET":
        form.body.data = operations.html_as_text(observation.body_html)
        form.kind.data = observation.kind.value
        form.lock_version.data = str(observation.lock_version)
    anchor = operations.Anchor.of(observation)
    if form.validate_on_submit():
        if form.lock_version.data and form.lock_version.data != str(observation.lock_version):
            _conflict()
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


@bp.post("/observations/<int:observation_id>/delete")
@require(is_logged_in, load=OBSERVATION, visible=can_follow, allowed=can_edit_draft)
def delete_draft(observation: Observation):
    if not observation.is_draft:
        return redirect(url_for("observations.receipt", observation_id=observation.id))
    if page := ask_first(
        title=_("Delete the draft “%(title)s”?", title=observation.title or _("(untitled draft)")),
        consequence=_(
            "The draft, its text and its attachments are deleted; they were never sent, so "
            "nobody else has them."
        ),
        confirm_label=_("Delete the draft"),
        cancel_url=url_for("observations.edit", observation_id=observation.id),
    ):
        return page
    observation_id = observation.id
    with commit_or_refuse() as attempt:
        operations.delete_draft(db.session, observation, user=current_user)
    if not attempt.done:
        return redirect(url_for("observations.receipt", observation_id=observation_id))
    flash(_("The draft has been deleted."), "success")
    return redirect(url_for("observations.mine"))


@bp.post("/observations/<int:observation_id>/attachments/<int:attachment_id>/remove")
@require(is_logged_in, load=OBSERVATION, visible=can_follow)
def remove_attachment(observation: Observation, attachment_id: int):
    attachment = _attachment(observation, attachment_id)
    with commit_or_refuse() as attempt:
        operations.remove_attachment(db.session, observation, attachment, user=current_user)
    if attempt.done:
        flash(_("Attachment removed."), "success")
    return redirect(url_for("observations.edit", observation_id=observation.id))


@bp.get("/observations/<int:observation_id>/attachments/<int:attachment_id>")
@require(is_logged_in, load=OBSERVATION, visible=can_follow)
def download(observation: Observation, attachment_id: int):
    """Always a download, never rendered inline, with the type found in its content."""
    attachment = _attachment(observation, attachment_id)
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
@require(is_logged_in, load=OBSERVATION, visible=can_follow)
def receipt(observation: Observation):
    if observation.is_draft:
        return redirect(url_for("observations.edit", observation_id=observation.id))
    code = None
    if can_speak_for(current_user, observation):
        candidate = receipts.verification_code(observation.protocol_code)
        if receipts.code_matches(observation, candidate):
            code = candidate
    return render_template(
        "observations/receipt.html",
        observation=observation,
        code=code,
        withdraw_form=WithdrawForm(),
        withdrawable=observation.state is ObservationState.SUBMITTED
        and observation.round.is_open_at(utcnow())
        and can_withdraw(current_user, observation),
        correctable=can_correct(current_user, observation),
    )


@bp.post("/observations/<int:observation_id>/withdraw")
@require(is_logged_in, load=OBSERVATION, visible=can_follow, allowed=can_withdraw)
def withdraw(observation: Observation):
    form = WithdrawForm()
    valid = form.validate_on_submit()  # the reason, asked on the confirmation page
    if page := ask_first(
        title=_("Withdraw %(protocol)s?", protocol=observation.protocol_code),
        consequence=_(
            "The observation stays on record as withdrawn, with its protocol number, and is "
            "not examined. It cannot be registered again: to change it, send a correction "
            "instead."
        ),
        confirm_label=_("Withdraw the observation"),
        cancel_url=url_for("observations.receipt", observation_id=observation.id),
        fields=[form.reason],
        invalid=not valid,
    ):
        return page
    with commit_or_refuse() as attempt:
        operations.withdraw(db.session, observation, user=current_user, reason=form.reason.data)
    if attempt.done:
        flash(_("The observation has been withdrawn. It stays on record as withdrawn."), "success")
    return redirect(url_for("observations.receipt", observation_id=observation.id))


@bp.post("/observations/<int:observation_id>/correct")
@require(is_logged_in, load=OBSERVATION, visible=can_follow)
def correct(observation: Observation):
    with commit_or_refuse() as attempt:
        draft = operations.start_correction(db.session, observation, user=current_user)
    if not attempt.done:
        return redirect(url_for("observations.receipt", observation_id=observation.id))
    flash(
        _(
            "A new draft that corrects %(protocol)s: change it and submit it.",
            protocol=observation.protocol_code,
        ),
        "info",
    )
    return redirect(url_for("observations.edit", observation_id=draft.id))


@bp.get("/observations/mine")
@require(is_logged_in)
def mine():
    """The user's observations, drafts included, and those of their organisation."""
    page = paginate(followed_by(current_user), per_page=PAGE_SIZE)
    return render_template("observations/mine.html", page=page)


# Staff intake ------------------------------------------------------------------------------


def _paragraph_choices(tree) -> list[SelectChoice]:
    """The round's paragraphs as options, section by section, with their first words."""
    choices = [SelectChoice("", _("None: the whole section (or plan)"))]
    for node in tree.walk():
        section = f"{node.section.number} {node.section.title}".strip()
        choices += [
            SelectChoice(
                paragraph.key,
                _(
                    "%(section)s, paragraph %(n)d: %(start)s",
                    section=section,
                    n=index,
                    start=_start_of(paragraph.text),
                ),
            )
            for index, paragraph in enumerate(node.paragraphs, start=1)
        ]
    return choices


def _start_of(text: str, length: int = 70) -> str:
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"


@bp.route("/rounds/<int:round_id>/intake", methods=["GET", "POST"])
@require(can_record_intake, load=ROUND)
def intake(round_: Round):
    form = IntakeForm()
    form.organisation_id.choices = [
        SelectChoice(row.id, row.name) for row in active_organisation_names()
    ]
    tree = frozen_tree(db.session, round_.version)
    form.section.choices = [SelectChoice("", _("The plan as a whole"))] + [
        SelectChoice(node.section.key, f"{node.section.number} {node.section.title}".strip())
        for node in tree.walk()
    ]
    form.paragraph.choices = _paragraph_choices(tree)
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.organisation_id.data)
        upload = form.original.data
        originals = [(upload.filename, upload.read())] if upload and upload.filename else []
        with commit_or_refuse(form) as attempt:
            anchor = operations.resolve_anchor(
                db.session,
                round_,
                section_key=form.section.data or None,
                paragraph_key=form.paragraph.data or None,
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
        if attempt.done:  # the receipt says it is registered, and under which number
            return redirect(url_for("observations.receipt", observation_id=observation.id))
        return render_template("observations/intake.html", form=form, round=round_), 422
    status = 422 if request.method == "POST" else 200  # a POST that did not validate
    return render_template("observations/intake.html", form=form, round=round_), status


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
        found = by_receipt(form.protocol.data, form.code.data)
        if found is None:
            status = 404
            flash(_("No observation matches this protocol number and code."), "danger")
    triage = None
    if found is not None:
        from app.moderation.models import Triage  # moderation builds on observations

        triage = db.session.get(Triage, found.id)
    return render_template(
        "observations/track.html", form=form, observation=found, triage=triage
    ), status
