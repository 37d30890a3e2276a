"""The moderation workspace's pages. Views are thin: check the named predicate (the role
before anything is looked up, the round once it is), call an operation, commit once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.permissions import is_editor, is_moderator, require
from app.core.refusals import commit_or_refuse
from app.core.templating import add_nav_item
from app.extensions import db
from app.moderation import bulk, operations, point_bulk, points, queries, search, tags
from app.moderation.forms import (
    BulkForm,
    MergeForm,
    NoteForm,
    ObservationTagsForm,
    TagEditForm,
    ThemeForm,
    TriageForm,
)
from app.moderation.models import (
    ACTION_LABELS,
    FAMILY_LABELS,
    PUBLIC_STATE_LABELS,
    STATE_LABELS,
    TRANSITIONS,
    TRIAGE_ACTIONS,
    InternalNote,
    ModerationError,
    ObservationTag,
    Tag,
    TagFamily,
    Triage,
    TriageTransition,
)
from app.moderation.permissions import (
    can_manage_tags,
    can_moderate,
    can_read_notes,
    can_see_queue,
)
from app.moderation.queries import QueueFilter
from app.observations.models import Observation, Point
from app.plans.frozen import frozen_tree
from app.rounds.models import Round
from app.stakeholders.labels import KIND_LABELS
from app.stakeholders.models import Group, Zone

bp = Blueprint("moderation", __name__, url_prefix="/moderation")

add_nav_item("moderation.list_tags", _l("Tags"), can_manage_tags, prefix="moderation")
add_nav_item(
    "moderation.my_assignments", _l("My assignments"), is_editor, prefix="moderation.my_assignments"
)


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        triage_state_labels=STATE_LABELS,
        triage_public_labels=PUBLIC_STATE_LABELS,
        triage_action_labels=ACTION_LABELS,
        bulk_action_labels=bulk.ACTION_LABELS,
        can_see_queue=can_see_queue,
        can_moderate=can_moderate,
    )


def _apply(change: Callable[[], object], success: str) -> bool:
    """Run an operation through core's commit_or_refuse and say it was done (or why not)."""
    with commit_or_refuse() as attempt:
        change()
    if attempt.done:
        flash(success, "success")
    return attempt.done


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
    observation_points = points.active_points(db.session, [observation_id])[observation_id]
    return render_template(
        "moderation/observation.html",
        triage=triage,
        observation=triage.observation,
        history=history,
        actions=actions if can_moderate(current_user, triage.observation.round) else [],
        form=form,
        current_tags=tags.tags_of(db.session, [observation_id])[observation_id],
        notes=db.session.scalars(
            select(InternalNote)
            .where(InternalNote.observation_id == observation_id, InternalNote.point_id.is_(None))
            .order_by(InternalNote.created_at, InternalNote.id)
        ).all()
        if can_read_notes(current_user)
        else [],
        note_form=NoteForm(),
        points=observation_points,
        point_tags=points.point_tags_of(db.session, [p.id for p in observation_points]),
        assignees=points.assignees_of(db.session, [p.id for p in observation_points]),
        editors=points.editors(db.session),
        all_tags=_live_tags(),
        family_labels=FAMILY_LABELS,
        **point_routes.item_context(triage, observation_points),
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
    _apply(
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
    shown_at = utcnow()
    round_ = _round(round_id)
    chosen, problems = QueueFilter.from_args(request.args)
    tree = frozen_tree(db.session, round_.version)
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
        shown_at=shown_at.isoformat(),
        bulk_actions=bulk.BULK_ACTIONS,
        point_actions=point_bulk.ACTION_LABELS,
        points_max=point_bulk.POINTS_MAX,
        row_tags=tags.tags_of(db.session, [row.observation.id for row in page.rows]),
        editors=points.editors(db.session),
        all_tags=_live_tags(),
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


# Tags --------------------------------------------------------------------------------------


def _tag(tag_id: int) -> Tag:
    tag = db.session.get(Tag, tag_id)
    if tag is None or not tag.in_use:
        abort(404)
    return tag


def _tag_counts() -> dict[int, int]:
    return dict(
        db.session.execute(
            select(ObservationTag.tag_id, func.count()).group_by(ObservationTag.tag_id)
        ).all()
    )


def _live_tags() -> list[Tag]:
    return list(
        db.session.scalars(
            select(Tag).where(Tag.merged_into_id.is_(None)).order_by(Tag.family, Tag.name_key)
        )
    )


@bp.get("/tags")
@require(can_manage_tags)
def list_tags():
    return render_template(
        "moderation/tags.html",
        tags=_live_tags(),
        counts=_tag_counts(),
        form=ThemeForm(),
        family_labels=FAMILY_LABELS,
    )


@bp.post("/tags")
@require(can_manage_tags)
def create_tag():
    form = ThemeForm()
    if form.validate_on_submit():
        done = _apply(
            lambda: tags.create_theme(
                db.session, name=form.name.data, colour=form.colour.data, actor=current_user
            ),
            _("Theme created."),
        )
        if done:
            return redirect(url_for(".list_tags"), 303)
    return render_template(
        "moderation/tags.html",
        tags=_live_tags(),
        counts=_tag_counts(),
        form=form,
        family_labels=FAMILY_LABELS,
    ), 422


@bp.post("/tags/seed")
@require(can_manage_tags)
def seed_tags():
    counts = {}

    def run():
        counts.update(tags.seed_tags(db.session, actor=current_user))

    _apply(run, _("Policy areas and zones are up to date."))
    return redirect(url_for(".list_tags"), 303)


def _merge_form(tag: Tag, formdata=None) -> MergeForm:
    form = (
        MergeForm(formdata=formdata)
        if formdata is not None
        else MergeForm(lock_version=tag.lock_version)
    )
    form.target.choices = [
        SelectChoice(t.id, t.name)
        for t in _live_tags()
        if t.family is TagFamily.THEME and t.id != tag.id
    ]
    return form


@bp.route("/tags/<int:tag_id>", methods=["GET", "POST"])
@require(can_manage_tags)
def edit_tag(tag_id: int):
    tag = _tag(tag_id)
    form = TagEditForm(obj=tag) if request.method == "GET" else TagEditForm()
    if request.method == "POST" and form.validate_on_submit():
        done = _apply(
            lambda: tags.update_tag(
                db.session,
                tag,
                name=form.name.data,
                colour=form.colour.data,
                actor=current_user,
                seen_lock=form.lock_version.data,
            ),
            _("Tag saved: every observation keeps it."),
        )
        if done:
            return redirect(url_for(".list_tags"), 303)
        tag = _tag(tag_id)
        form.lock_version.data = tag.lock_version
    return render_template(
        "moderation/tag.html",
        tag=tag,
        form=form,
        merge_form=_merge_form(tag) if tag.family is TagFamily.THEME else None,
        count=_tag_counts().get(tag.id, 0),
        family_labels=FAMILY_LABELS,
    ), (422 if request.method == "POST" else 200)


@bp.post("/tags/<int:tag_id>/merge")
@require(can_manage_tags)
def merge_tag(tag_id: int):
    """First a confirmation page (what will move), then the merge: no JavaScript needed."""
    source = _tag(tag_id)
    form = _merge_form(source, request.form)
    if not form.validate_on_submit():
        flash(_("Choose the theme to merge into."), "danger")
        return redirect(url_for(".edit_tag", tag_id=tag_id), 303)
    target = _tag(form.target.data)
    if form.confirm.data != "yes":
        try:
            preview = tags.merge_preview(db.session, source, target)
        except ModerationError as error:
            flash(str(error.message), "danger")
            return redirect(url_for(".edit_tag", tag_id=tag_id), 303)
        return render_template(
            "moderation/merge_confirm.html",
            source=source,
            target=target,
            preview=preview,
            form=form,
        )
    done = _apply(
        lambda: tags.merge_tags(
            db.session,
            source,
            target,
            actor=current_user,
            seen_locks=(form.lock_version.data, form.target_lock.data),
        ),
        _("Merged: every observation tagged with the first theme now has the second."),
    )
    return redirect(url_for(".list_tags" if done else ".edit_tag", tag_id=tag_id), 303)


@bp.post("/observations/<int:observation_id>/tags")
@require(is_moderator)
def tag_observation(observation_id: int):
    triage = _triage(observation_id)
    form = ObservationTagsForm()
    form.tags.choices = [SelectChoice(t.id, t.name) for t in _live_tags()]
    if not form.validate_on_submit():
        flash(_("One of the tags chosen no longer exists."), "danger")
    else:
        _apply(
            lambda: tags.set_tags(
                db.session,
                triage,
                form.tags.data or [],
                actor=current_user,
                seen_lock=form.lock_version.data,
            ),
            _("Tags saved."),
        )
    return redirect(url_for(".show_observation", observation_id=observation_id), 303)


# Bulk actions ------------------------------------------------------------------------------


def _selection(form) -> dict[int, int]:
    """``item`` values are ``<observation id>:<lock version the page showed>``."""
    selection = {}
    for value in form.getlist("item")[: bulk.BULK_MAX + 1]:
        observation_id, _sep, lock = value.partition(":")
        if not (observation_id.isdigit() and lock.isdigit()) or len(value) > 20:
            abort(400)
        selection[int(observation_id)] = int(lock)
    return selection


def _shown_at(raw: str | None):
    try:
        moment = datetime.fromisoformat((raw or "")[:40])
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def bulk_page(round_, back: str, plan_call, *, changed, template: str, context):
    """Preview, then (with ``confirm=yes``, the preview page's button) apply: no JavaScript
    needed, and nothing changes unless every item can change and the set is the one the
    preview showed (its fingerprint travels with the confirmation). ``plan_call(apply,
    fingerprint)`` makes the plan; ``changed(n)`` says how many changed; ``context(plan)``:
    what the preview page shows of the action."""
    form = request.form
    confirmed = form.get("confirm") == "yes"
    seen = form.get("fingerprint", "")[:64] if confirmed else None
    with commit_or_refuse() as attempt:
        plan = plan_call(apply=confirmed, fingerprint=seen)
        if not plan.applied:
            attempt.discard()  # a preview, or a plan that found items in the way: nothing written
    if attempt.refusal is not None:
        return redirect(back, 303)
    if attempt.done:
        flash(
            changed(len(plan.to_change))
            + " "
            + ngettext("%(num)d was already so.", "%(num)d were already so.", len(plan.unchanged)),
            "success",
        )
        return redirect(back, 303)
    carried = [
        (key, value)
        for key in form
        if key not in ("csrf_token", "confirm", "fingerprint")
        for value in form.getlist(key)
    ] + [("fingerprint", plan.fingerprint)]
    return render_template(
        template,
        round=round_,
        plan=plan,
        carried=carried,
        back=back,
        confirmed=confirmed,
        shown_max=bulk.SHOWN_MAX,
        **context(plan),
    ), (409 if confirmed else 200)


def bulk_scope(round_, everything: bool, selection) -> dict:
    """Which items a bulk action is on: those ticked (``selection()``: ids with the locks the
    page showed), or every result of the queue's filter the form carries, as of its time."""
    if not everything:
        return {"selection": selection()}
    chosen, _problems = QueueFilter.from_args(request.form)
    return {
        "chosen": _section_ids(frozen_tree(db.session, round_.version), chosen),
        "shown_at": _shown_at(request.form.get("shown_at")),
    }


def bounded_id(raw: str | None) -> int | None:
    raw = raw or ""
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.post("/rounds/<int:round_id>/bulk")
@require(is_moderator)
def bulk_action(round_id: int):
    round_ = _round(round_id)
    form = request.form
    if not BulkForm().validate_on_submit():
        abort(400)
    expected = form.get("expected", "")
    tag_id = bounded_id(form.get("bulk_tag_id"))
    return bulk_page(
        round_,
        url_for(".queue", round_id=round_id, **_filter_args(form)),
        partial(
            bulk.plan_bulk,
            db.session,
            round_,
            action=form.get("bulk_action", ""),
            actor=current_user,
            **bulk_scope(round_, form.get("bulk_scope") == "filter", lambda: _selection(form)),
            expected=int(expected) if expected.isdigit() and len(expected) < 9 else None,
            tag_id=tag_id,
            reason=form.get("bulk_reason"),
        ),
        changed=lambda n: ngettext(
            "%(num)d observation changed.", "%(num)d observations changed.", n
        ),
        template="moderation/bulk_preview.html",
        context=lambda plan: {
            "tag": db.session.get(Tag, tag_id) if tag_id else None,
            "reason": form.get("bulk_reason"),
        },
    )


def _filter_args(form) -> dict:
    return {
        key: form.getlist(key)
        for key in FILTER_KEYS
        if form.getlist(key) and any(form.getlist(key))
    }


#: The queue's query-string keys (what a bulk form carries back to the queue).
FILTER_KEYS = (
    "q",
    "state",
    "section",
    "kind",
    "organisation_kind",
    "group_id",
    "zone_id",
    "channel",
    "late",
    "has_attachments",
    "in_group",
    "tag_id",
    "assignee_id",
    "sort",
    "per_page",
    "page",
)


# Internal notes ----------------------------------------------------------------------------


@bp.post("/observations/<int:observation_id>/notes")
@require(is_moderator)
def add_note(observation_id: int):
    triage = _triage(observation_id)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("Write the note (at most 5,000 characters)."), "danger")
    else:
        _apply(
            lambda: operations.add_note(
                db.session, triage.observation, author=current_user, body=form.body.data
            ),
            _("Note added. Only staff can read it."),
        )
    return redirect(url_for(".show_observation", observation_id=observation_id) + "#notes", 303)


# Points ------------------------------------------------------------------------------------


def _point(point_id: int) -> tuple[Triage, Point]:
    point = db.session.get(Point, point_id)
    if point is None:
        abort(404)
    return _triage(point.observation_id), point


def _ids(name: str) -> list[int]:
    values = request.form.getlist(name)[:200]
    if not all(v.isdigit() and len(v) < 10 for v in values):
        abort(400)
    return [int(v) for v in values]


def _lock() -> int | None:
    raw = request.form.get("lock_version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _point_change(point_id: int, change, success: str):
    """Tags or editors of one point: ``change(triage, point, ids, seen_lock)``."""
    triage, point = _point(point_id)
    if not BulkForm().validate_on_submit():
        abort(400)
    _apply(lambda: change(triage, point, seen_lock=_lock()), success % {"label": point.label})
    anchor = f"#point-{point.id}"
    return redirect(url_for(".show_observation", observation_id=point.observation_id) + anchor, 303)


@bp.post("/points/<int:point_id>/tags")
@require(is_moderator)
def tag_point(point_id: int):
    return _point_change(
        point_id,
        lambda triage, point, seen_lock: points.set_point_tags(
            db.session, triage, point, _ids("tags"), actor=current_user, seen_lock=seen_lock
        ),
        _("Tags of %(label)s saved."),
    )


@bp.post("/points/<int:point_id>/assignees")
@require(is_moderator)
def assign_point(point_id: int):
    return _point_change(
        point_id,
        lambda triage, point, seen_lock: points.set_assignees(
            db.session, triage, point, _ids("editors"), actor=current_user, seen_lock=seen_lock
        ),
        _("Assignment of %(label)s saved."),
    )


@bp.get("/assignments")
@require(is_editor)
def my_assignments():
    return render_template(
        "moderation/assignments.html",
        counts=points.assignment_counts(db.session, current_user),
        points=points.my_points(db.session, current_user),
    )


# Splitting, point notes and bulk, redaction and the public list (point_routes); groups,
# suggestions and the dashboard (workspace): their own modules, on this blueprint.
from app.moderation import point_routes, workspace  # noqa: E402, F401
