from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from app.core.confirm import ask_first
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.pagination import paginate
from app.core.permissions import is_logged_in, require
from app.core.refusals import commit_or_refuse
from app.core.timezones import local_to_utc, utc_to_local
from app.extensions import db
from app.observations.models import Observation
from app.observations.queries import submitted_counts
from app.plans.frozen import frozen_tree, rendered_once
from app.plans.models import Plan, PlanVersion, VersionStatus
from app.rounds import operations
from app.rounds.forms import KIND_LABELS, ResponseVersionForm, RoundForm, StateForm
from app.rounds.models import STATE_LABELS, Round, RoundState
from app.rounds.permissions import can_manage_rounds, can_see_round, can_set_response_version
from app.rounds.queries import ROUND, visible_rounds
from app.stakeholders.models import Group, OrganisationKind, Zone
from app.stakeholders.queries import names

bp = Blueprint("rounds", __name__, url_prefix="/rounds")

ACTION_LABELS = {
    "schedule": _l("Schedule"),
    "unschedule": _l("Back to preparation"),
    "open": _l("Open now"),
    "close": _l("Close now"),
    "start_review": _l("Start the review"),
    "conclude": _l("Conclude"),
}

#: The state changes that cannot be undone, and what each one means for the participants.
IRREVERSIBLE = {
    "open": _l(
        "The round opens now: the invited organisations are told by e-mail and can send "
        "observations; it cannot go back to preparation."
    ),
    "close": _l(
        "The round closes now, before its planned end: no more observations are accepted "
        "(late ones only if the round accepts them), and it cannot be opened again."
    ),
    "start_review": _l("The review starts: the round cannot go back to accepting observations."),
    "conclude": _l("The round is concluded: its outcome is final."),
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
        round_state_labels=STATE_LABELS,
        round_action_labels=ACTION_LABELS,
    )


@bp.get("/")
@require(is_logged_in)
def list_rounds():
    query = visible_rounds(current_user).options(
        selectinload(Round.groups), selectinload(Round.zones)
    )
    page = paginate(query, per_page=PAGE_SIZE)
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
    form.groups.choices = [SelectChoice(g.id, g.name) for g in names(Group)]
    form.zones.choices = [SelectChoice(z.id, z.name) for z in names(Zone)]


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
@require(can_manage_rounds)
def new_round():
    form = RoundForm()
    _fill_choices(form)
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            round_ = operations.create_round(db.session, actor=current_user, **_values(form))
        if attempt.done:
            flash(_("Round created. Schedule it when it is ready."), "success")
            return redirect(url_for("rounds.show_round", round_id=round_.id))
    return render_template("rounds/edit.html", form=form, round=None)


@bp.route("/<int:round_id>/edit", methods=["GET", "POST"])
@require(can_manage_rounds, load=ROUND)
def edit_round(round_: Round):
    form = RoundForm(obj=round_)
    _fill_choices(form)
    if request.method == "GET":
        form.opens_at.data = utc_to_local(round_.opens_at)
        form.closes_at.data = utc_to_local(round_.closes_at)
        form.groups.data = [g.id for g in round_.groups]
        form.zones.data = [z.id for z in round_.zones]
        form.kinds.data = sorted(k.value for k in round_.kinds)
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            operations.update_round(db.session, round_, actor=current_user, **_values(form))
        if attempt.done:
            flash(_("Changes saved."), "success")
            return redirect(url_for("rounds.show_round", round_id=round_.id))
    return render_template("rounds/edit.html", form=form, round=round_)


@bp.post("/<int:round_id>/state")
@require(can_manage_rounds, load=ROUND)
def change_state(round_: Round):
    form = StateForm()
    action = form.action.data if form.validate_on_submit() else None
    if action not in ACTIONS[round_.state]:
        flash(_("This action is not possible now."), "danger")
        return redirect(url_for("rounds.show_round", round_id=round_.id))
    question = IRREVERSIBLE.get(action)
    if question and (
        page := ask_first(
            title=_("%(action)s: %(title)s?", action=ACTION_LABELS[action], title=round_.title),
            consequence=question,
            confirm_label=ACTION_LABELS[action],
            cancel_url=url_for("rounds.show_round", round_id=round_.id),
        )
    ):
        return page
    with commit_or_refuse() as attempt:
        operations.change_state(db.session, round_, action, actor=current_user)
    if attempt.done:
        flash(_("The round is now %(state)s.", state=STATE_LABELS[round_.state]), "success")
    return redirect(url_for("rounds.show_round", round_id=round_.id))


@bp.post("/<int:round_id>/response-version")
@require(is_logged_in, load=ROUND, visible=can_see_round, allowed=can_set_response_version)
def response_version(round_: Round):
    """Start the response version, or choose an existing successor of the consulted text."""
    form = ResponseVersionForm()
    back = redirect(url_for("rounds.show_round", round_id=round_.id) + "#response-version")
    if not form.validate_on_submit() or form.action.data not in ("start", "choose"):
        flash(_("This action is not possible now."), "danger")
        return back
    label = (form.label.data or "").strip() or _("Response to %(title)s", title=round_.title)
    with commit_or_refuse() as attempt:
        if form.action.data == "start":
            operations.start_response_version(
                db.session, round_, label=label[:200], actor=current_user
            )
        else:
            version = db.session.scalar(
                select(PlanVersion).where(
                    PlanVersion.plan_id == round_.version.plan_id,
                    PlanVersion.number == (form.version.data or 0),
                )
            )
            if version is None:
                flash(_("Choose one of the versions listed."), "danger")
                attempt.discard()
            else:
                operations.set_response_version(db.session, round_, version, actor=current_user)
    if attempt.done:
        flash(_("The response version is set."), "success")
    return back


@bp.get("/<int:round_id>/")
@require(is_logged_in, load=ROUND, visible=can_see_round)
def show_round(round_: Round):
    counts = submitted_counts(round_, Observation.section_id)
    candidates = (
        operations.response_candidates(db.session, round_)
        if can_set_response_version(current_user, round_)
        else []
    )
    return render_template(
        "rounds/show.html",
        round=round_,
        section_rows=_with_counts(_section_rows(round_), counts),
        general_count=counts.get(None, 0),
        now=utcnow(),
        actions=ACTIONS[round_.state] if can_manage_rounds(current_user) else [],
        state_form=StateForm(),
        kind_labels=KIND_LABELS,
        response_form=ResponseVersionForm(),
        candidates=candidates,
    )


def _section_rows(round_: Round) -> list[tuple[int, Markup]]:
    """The round page's rows of sections, each rendered once for the round's frozen text: the
    section's id (for its count) and the cell linking to it."""
    tree = frozen_tree(db.session, round_.version)
    cell = get_template_attribute("rounds/macros.html", "section_cell")

    def build():
        return [(node.section.id, cell(round_, node)) for node in tree.walk()]

    return rendered_once(db.session, round_.version, ("round-sections", round_.id), build)


_ROW = Markup('<tr>{}<td class="text-end">{}</td></tr>')


def _with_counts(rows: list[tuple[int, Markup]], counts: dict) -> Markup:
    """The rows with this request's counts, joined here rather than in a template loop: the
    loop over 300 rows cost more than everything else on the page."""
    return Markup("").join(
        _ROW.format(cell, counts.get(section_id, 0)) for section_id, cell in rows
    )


def neighbours(tree, node):
    """The sections a reader goes to from ``node``: the previous one (its previous sibling, or
    its parent) and the next one (its next sibling, or the next one of an ancestor)."""
    parents = {child.section.id: parent for parent in tree.walk() for child in parent.children}

    def siblings(of):
        parent = parents.get(of.section.id)
        return parent.children if parent else tree.roots

    row = siblings(node)
    at = row.index(node)
    previous = row[at - 1] if at > 0 else parents.get(node.section.id)
    following, current = None, node
    while following is None and current is not None:
        row = siblings(current)
        at = row.index(current)
        following = row[at + 1] if at + 1 < len(row) else None
        current = parents.get(current.section.id)
    return previous, following


@bp.get("/<int:round_id>/s/<key>")
@require(is_logged_in, load=ROUND, visible=can_see_round)
def show_section(round_: Round, key: str):
    """A top-level section's text, to comment on it, a paragraph or a selected passage."""
    tree = frozen_tree(db.session, round_.version)
    node = tree.node_by_key(key)
    if node is None:
        abort(404)
    previous, following = neighbours(tree, node)
    return render_template(
        "rounds/section.html",
        round=round_,
        tree=tree,
        node=node,
        previous=previous,
        following=following,
        counts=submitted_counts(round_, Observation.section_id),
        paragraph_counts=submitted_counts(round_, Observation.paragraph_id),
        now=utcnow(),
    )
