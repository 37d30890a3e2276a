from __future__ import annotations

from collections import Counter

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.permissions import is_staff
from app.core.refusals import show_refusal
from app.core.timezones import local_to_utc, utc_to_local
from app.extensions import db
from app.observations.models import Observation, ObservationState
from app.plans.models import Plan, PlanVersion, VersionStatus
from app.plans.tree import load_tree
from app.rounds import operations
from app.rounds.eligibility import user_may_submit
from app.rounds.forms import KIND_LABELS, RoundForm, StateForm
from app.rounds.models import STATE_LABELS, Round, RoundError, RoundState
from app.rounds.permissions import can_manage_rounds, can_see_round
from app.stakeholders.models import Group, OrganisationKind, Zone

bp = Blueprint("rounds", __name__, url_prefix="/rounds")

ACTION_LABELS = {
    "schedule": _l("Schedule"),
    "unschedule": _l("Back to preparation"),
    "open": _l("Open now"),
    "close": _l("Close now"),
    "start_review": _l("Start the review"),
    "conclude": _l("Conclude"),
}

PAGE_SIZE = 20

#: Which actions each state offers, in the order the buttons appear.
ACTIONS = {
    RoundState.DRAFT: ["schedule", "open"],
    RoundState.SCHEDULED: ["open", "unschedule"],
    RoundState.OPEN: ["close"],
    RoundState.CLOSED: ["start_review"],
    RoundState.IN_REVIEW: ["conclude"],
    RoundState.CONCLUDED: [],
}


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        can_manage_rounds=can_manage_rounds,
        round_state_labels=STATE_LABELS,
        round_action_labels=ACTION_LABELS,
        may_write=lambda round_: (
            user_may_submit(current_user, round_) and round_.is_open_at(utcnow())
        ),
        may_take_part=lambda round_: user_may_submit(current_user, round_),
    )


def _round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None or not can_see_round(current_user, round_):
        abort(404)
    return round_


def _managed_round(round_id: int) -> Round:
    round_ = db.get_or_404(Round, round_id)
    if not can_manage_rounds(current_user):
        abort(403)
    return round_


@bp.get("/")
def list_rounds():
    query = (
        select(Round)
        .options(
            selectinload(Round.groups),
            selectinload(Round.zones),
            joinedload(Round.version).joinedload(PlanVersion.plan),
        )
        .order_by(Round.closes_at.desc(), Round.id.desc())
    )
    if not is_staff(current_user):  # as can_see_round decides, in SQL so that pages are right
        query = query.where(Round.state != RoundState.DRAFT)
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False)
    return render_template("rounds/list.html", page=page, rounds=page.items, now=utcnow())


def _fill_choices(form: RoundForm) -> None:
    versions = db.session.execute(
        select(PlanVersion.id, PlanVersion.label, Plan.title)
        .join(Plan, Plan.id == PlanVersion.plan_id)
        .where(PlanVersion.status != VersionStatus.ADOPTED)
        .order_by(Plan.title, PlanVersion.number)
    ).all()
    form.plan_version_id.choices = [
        SelectChoice(row.id, f"{row.title} — {row.label}") for row in versions
    ]
    form.groups.choices = [
        SelectChoice(g.id, g.name) for g in db.session.scalars(select(Group).order_by(Group.name))
    ]
    form.zones.choices = [
        SelectChoice(z.id, z.name) for z in db.session.scalars(select(Zone).order_by(Zone.name))
    ]


def _values(form: RoundForm) -> dict:
    version = db.session.get(PlanVersion, form.plan_version_id.data)
    if version is None:
        abort(400)
    groups = db.session.scalars(select(Group).where(Group.id.in_(form.groups.data or []))).all()
    zones = db.session.scalars(select(Zone).where(Zone.id.in_(form.zones.data or []))).all()
    return {
        "version": version,
        "title": form.title.data,
        "instructions": form.instructions.data or "",
        "opens_at": local_to_utc(form.opens_at.data),
        "closes_at": local_to_utc(form.closes_at.data),
        "protocol_prefix": form.protocol_prefix.data,
        "accept_late": form.accept_late.data,
        "publish_after_close": form.publish_after_close.data,
        "citizens_eligible": form.citizens_eligible.data,
        "reminder_days": form.reminder_days.data or 0,
        "groups": list(groups),
        "zones": list(zones),
        "kinds": {OrganisationKind(k) for k in form.kinds.data or []},
    }


@bp.route("/new", methods=["GET", "POST"])
def new_round():
    if not can_manage_rounds(current_user):
        abort(403)
    form = RoundForm()
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            round_ = operations.create_round(db.session, actor=current_user, **_values(form))
        except RoundError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Round created. Schedule it when it is ready."), "success")
            return redirect(url_for("rounds.show_round", round_id=round_.id))
    return render_template("rounds/edit.html", form=form, round=None)


@bp.route("/<int:round_id>/edit", methods=["GET", "POST"])
def edit_round(round_id: int):
    round_ = _managed_round(round_id)
    form = RoundForm(obj=round_)
    _fill_choices(form)
    if request.method == "GET":
        form.opens_at.data = utc_to_local(round_.opens_at)
        form.closes_at.data = utc_to_local(round_.closes_at)
        form.groups.data = [g.id for g in round_.groups]
        form.zones.data = [z.id for z in round_.zones]
        form.kinds.data = sorted(k.value for k in round_.kinds)
    if form.validate_on_submit():
        try:
            operations.update_round(db.session, round_, actor=current_user, **_values(form))
        except RoundError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("rounds.show_round", round_id=round_.id))
    return render_template("rounds/edit.html", form=form, round=round_)


@bp.post("/<int:round_id>/state")
def change_state(round_id: int):
    round_ = _managed_round(round_id)
    form = StateForm()
    action = form.action.data if form.validate_on_submit() else None
    if action not in ACTIONS[round_.state]:
        flash(_("This action is not possible now."), "danger")
        return redirect(url_for("rounds.show_round", round_id=round_.id))
    try:
        operations.change_state(db.session, round_, action, actor=current_user)
    except (RoundError, ValueError) as error:
        db.session.rollback()
        flash(str(getattr(error, "message", error)), "danger")
    else:
        db.session.commit()
        flash(_("The round is now %(state)s.", state=STATE_LABELS[round_.state]), "success")
    return redirect(url_for("rounds.show_round", round_id=round_.id))


def section_counts(round_: Round) -> Counter:
    """Submitted observations per section (one query, whatever the number of sections)."""
    rows = db.session.execute(
        select(Observation.section_id, func.count(Observation.id))
        .where(Observation.round_id == round_.id, Observation.state == ObservationState.SUBMITTED)
        .group_by(Observation.section_id)
    ).all()
    return Counter({section_id: count for section_id, count in rows})


@bp.get("/<int:round_id>/")
def show_round(round_id: int):
    round_ = _round(round_id)
    tree = load_tree(db.session, round_.version)
    counts = section_counts(round_)
    return render_template(
        "rounds/show.html",
        round=round_,
        tree=tree,
        counts=counts,
        general_count=counts.get(None, 0),
        now=utcnow(),
        actions=ACTIONS[round_.state] if can_manage_rounds(current_user) else [],
        state_form=StateForm(),
        kind_labels=KIND_LABELS,
    )


@bp.get("/<int:round_id>/s/<key>")
def show_section(round_id: int, key: str):
    """A top-level section's text, to comment on it, a paragraph or a selected passage."""
    round_ = _round(round_id)
    tree = load_tree(db.session, round_.version)
    node = tree.node_by_key(key)
    if node is None:
        abort(404)
    paragraph_counts = Counter(
        dict(
            db.session.execute(
                select(Observation.paragraph_id, func.count(Observation.id))
                .where(
                    Observation.round_id == round_.id,
                    Observation.state == ObservationState.SUBMITTED,
                    Observation.paragraph_id.is_not(None),
                )
                .group_by(Observation.paragraph_id)
            ).all()
        )
    )
    return render_template(
        "rounds/section.html",
        round=round_,
        tree=tree,
        node=node,
        counts=section_counts(round_),
        paragraph_counts=paragraph_counts,
        now=utcnow(),
    )
