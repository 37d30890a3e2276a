"""The moderation workspace's pages. Views are thin: check the named predicate (the role
before anything is looked up, the round once it is), call an operation, commit once."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.core.permissions import is_moderator, require
from app.extensions import db
from app.moderation import operations, queries, search
from app.moderation.forms import TriageForm
from app.moderation.models import (
    ACTION_LABELS,
    PUBLIC_STATE_LABELS,
    STATE_LABELS,
    TRANSITIONS,
    TRIAGE_ACTIONS,
    ModerationError,
    Triage,
    TriageTransition,
)
from app.moderation.permissions import can_moderate, can_see_queue
from app.moderation.queries import QueueFilter
from app.observations.models import Observation
from app.plans.tree import load_tree
from app.rounds.models import Round
from app.stakeholders.labels import KIND_LABELS
from app.stakeholders.models import Group, Zone

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        triage_state_labels=STATE_LABELS,
        triage_public_labels=PUBLIC_STATE_LABELS,
        triage_action_labels=ACTION_LABELS,
        can_see_queue=can_see_queue,
        can_moderate=can_moderate,
    )


def commit_or_refuse(change: Callable[[], object], success: str) -> bool:
    """Run an operation and commit once; on a refusal roll back (nothing is half done) and
    say why. Returns whether it was committed."""
    try:
        change()
    except ModerationError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return False
    db.session.commit()
    flash(success, "success")
    return True


def _triage(observation_id: int) -> Triage:
    """The observation's triage, for a moderator who may see its round's queue."""
    triage = db.session.scalar(
        select(Triage)
        .where(Triage.observation_id == observation_id)
        .options(selectinload(Triage.observation).selectinload(Observation.attachments))
    )
    if triage is None or not can_see_queue(current_user, triage.observation.round):
        abort(404)
    return triage


@bp.get("/observations/<int:observation_id>")
@require(is_moderator)
def show_observation(observation_id: int):
    triage = _triage(observation_id)
    history = db.session.scalars(
        select(TriageTransition)
        .where(TriageTransition.observation_id == observation_id)
        .order_by(TriageTransition.occurred_at, TriageTransition.id)
    ).all()
    actions = [action for action in TRIAGE_ACTIONS if triage.state in TRANSITIONS[action][0]]
    form = TriageForm(lock_version=triage.lock_version)
    return render_template(
        "moderation/observation.html",
        triage=triage,
        observation=triage.observation,
        history=history,
        actions=actions if can_moderate(current_user, triage.observation.round) else [],
        form=form,
    )


@bp.post("/observations/<int:observation_id>/triage")
@require(is_moderator)
def triage_observation(observation_id: int):
    triage = _triage(observation_id)
    form = TriageForm()
    if not form.validate_on_submit() or form.chosen_action() is None:
        flash(_("This action is not possible."), "danger")
        return redirect(url_for(".show_observation", observation_id=observation_id), 303)
    action = form.chosen_action()
    commit_or_refuse(
        lambda: operations.transition(
            db.session,
            triage,
            action,
            actor=current_user,
            seen_lock=form.lock_version.data,
            reason=form.reason.data,
        ),
        _(
            "%(code)s is now %(state)s.",
            code=triage.observation.protocol_code,
            state=STATE_LABELS[TRANSITIONS[action][1]],
        ),
    )
    return redirect(url_for(".show_observation", observation_id=observation_id), 303)


# The queue ---------------------------------------------------------------------------------


def _round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None or not can_see_queue(current_user, round_):
        abort(404)
    return round_


def _page_number(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 7 else default


def _section_ids(tree, chosen: QueueFilter) -> QueueFilter:
    """A section stands for itself and its subsections; one not in this text finds nothing."""
    if not chosen.section_ids:
        return chosen
    node = tree.nodes.get(chosen.section_ids[0])
    ids = [n.section.id for n in node.walk()] if node is not None else [0]
    return chosen.with_sections(ids)


@bp.get("/rounds/<int:round_id>/queue")
@require(is_moderator)
def queue(round_id: int):
    round_ = _round(round_id)
    chosen, problems = QueueFilter.from_args(request.args)
    tree = load_tree(db.session, round_.version, text=False)
    page = queries.queue_page(
        db.session,
        round_,
        _section_ids(tree, chosen),
        page=_page_number("page", 1),
        per_page=_page_number("per_page", queries.PAGE_SIZES[1]),
    )
    args = {k: v for k, v in request.args.to_dict(flat=False).items() if k != "page"}
    return render_template(
        "moderation/queue.html",
        round=round_,
        chosen=chosen,
        problems=problems,
        page=page,
        args=args,
        query_text=request.args.get("q", "")[: search.QUERY_MAX * 2],
        tree=tree,
        groups=db.session.scalars(select(Group).order_by(Group.name)).all(),
        zones=db.session.scalars(select(Zone).order_by(Zone.name)).all(),
        counts=queries.state_counts(db.session, round_),
        sort_labels=queries.SORT_LABELS,
        page_sizes=queries.PAGE_SIZES,
        organisation_kind_labels=KIND_LABELS,
    )
