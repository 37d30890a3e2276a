"""The workspace's pages for groups of campaigns, suggestions and the round's dashboard, on the
moderation blueprint (``routes`` imports this module). Views are thin, as in ``routes``: the
role first (``@require``), the round's predicate once it is looked up, one commit per request."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from app.core.permissions import is_moderator, require
from app.core.refusals import commit_or_refuse
from app.extensions import db
from app.moderation import dashboard, grouping, suggestions
from app.moderation.forms import BulkForm
from app.moderation.models import (
    GROUP_STATE_LABELS,
    GroupState,
    SimilarityGroup,
    Source,
    Suggestion,
    SuggestionKind,
)
from app.moderation.permissions import can_moderate
from app.moderation.routes import _apply, _lock, _page_number, _round, _triage, bp
from app.observations.forms import CHANNEL_LABELS
from app.observations.models import Point
from app.plans.models import Section
from app.stakeholders.labels import KIND_LABELS

#: What the item page shows of suggestions and groups, through template globals (so that the
#: item page's view stays as it is).
PER_PAGE = 25


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        moderation_item_extras=_item_extras,
        group_state_labels=GROUP_STATE_LABELS,
    )


def _item_extras(observation_id: int, points: list[Point]) -> dict:
    """For the item page: the observation's group (confirmed first), its points' open
    suggestions with the sections and tags they name, and where each point's tags came from."""
    ids = [p.id for p in points]
    open_ = suggestions.open_suggestions(db.session, ids)
    section_ids = {s.section_id for items in open_.values() for s in items if s.section_id}
    return {
        "group": grouping.groups_of(db.session, [observation_id]).get(observation_id),
        "suggestions": open_,
        "sections": {
            s.id: s for s in db.session.scalars(select(Section).where(Section.id.in_(section_ids)))
        }
        if section_ids
        else {},
        "tag_sources": suggestions.tag_sources(db.session, ids),
        "area_names": dict(suggestions_area_names()),
        "source_suggestion": Source.SUGGESTION,
        "section_kind": SuggestionKind.SECTION,
    }


def suggestions_area_names():
    from app.moderation.tags import POLICY_AREA_NAMES

    return POLICY_AREA_NAMES.items()


def _run(change) -> bool:
    """Like ``routes._apply``, for a view that words its own success message."""
    with commit_or_refuse() as attempt:
        change()
    return attempt.done


def _checked_form() -> None:
    if not BulkForm().validate_on_submit():
        abort(400)


# Groups ------------------------------------------------------------------------------------


def _group(group_id: int) -> SimilarityGroup:
    group = db.session.get(SimilarityGroup, group_id)
    if group is None:
        abort(404)
    _round(group.round_id)  # 404 unless the moderator may see its round's queue
    return group


@bp.get("/rounds/<int:round_id>/groups")
@require(is_moderator)
def list_groups(round_id: int):
    round_ = _round(round_id)
    raw = request.args.get("state", "proposed")
    state = GroupState(raw) if raw in GroupState._value2member_map_ else None
    page = _page_number("page", 1)
    rows, total = grouping.round_groups(db.session, round_, state, page=page, per_page=PER_PAGE)
    return render_template(
        "moderation/groups.html",
        round=round_,
        rows=rows,
        total=total,
        state=state,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        may_change=can_moderate(current_user, round_),
    )


@bp.post("/rounds/<int:round_id>/groups/detect")
@require(is_moderator)
def detect_groups(round_id: int):
    round_ = _round(round_id)
    _checked_form()
    if not can_moderate(current_user, round_):
        abort(403)
    found: list = []
    if _run(lambda: found.append(grouping.detect(db.session, round_, actor=current_user))):
        result = found[0]
        flash(
            ngettext("%(num)d group proposed.", "%(num)d groups proposed.", result.proposed)
            + " "
            + ngettext(
                "%(num)d observation in them.", "%(num)d observations in them.", result.members
            ),
            "success",
        )
    return redirect(url_for(".list_groups", round_id=round_id), 303)


@bp.get("/groups/<int:group_id>")
@require(is_moderator)
def show_group(group_id: int):
    group = _group(group_id)
    round_ = _round(group.round_id)
    return render_template(
        "moderation/group.html",
        group=group,
        round=round_,
        members=grouping.members_of(db.session, group),
        may_change=can_moderate(current_user, round_) and group.state is not GroupState.DISMISSED,
    )


def _group_change(group_id: int, change, success: str):
    group = _group(group_id)
    _checked_form()
    if not can_moderate(current_user, _round(group.round_id)):
        abort(403)
    _apply(lambda: change(group, _lock()), success)
    return redirect(url_for(".show_group", group_id=group_id), 303)


@bp.post("/groups/<int:group_id>/confirm")
@require(is_moderator)
def confirm_group(group_id: int):
    return _group_change(
        group_id,
        lambda group, lock: grouping.confirm(db.session, group, actor=current_user, seen_lock=lock),
        _("Group confirmed: every member is still answered on its own."),
    )


@bp.post("/groups/<int:group_id>/dismiss")
@require(is_moderator)
def dismiss_group(group_id: int):
    return _group_change(
        group_id,
        lambda group, lock: grouping.dismiss(db.session, group, actor=current_user, seen_lock=lock),
        _("Group dismissed: it will not be proposed again."),
    )


@bp.post("/groups/<int:group_id>/members")
@require(is_moderator)
def add_group_member(group_id: int):
    code = request.form.get("code", "")
    return _group_change(
        group_id,
        lambda group, lock: grouping.add_member(
            db.session, group, code, actor=current_user, seen_lock=lock
        ),
        _("Observation added to the group."),
    )


@bp.post("/groups/<int:group_id>/members/<int:observation_id>/remove")
@require(is_moderator)
def remove_group_member(group_id: int, observation_id: int):
    return _group_change(
        group_id,
        lambda group, lock: grouping.remove_member(
            db.session, group, observation_id, actor=current_user, seen_lock=lock
        ),
        _("Observation taken out of the group."),
    )


# Suggestions -------------------------------------------------------------------------------


@bp.post("/rounds/<int:round_id>/suggestions")
@require(is_moderator)
def compute_suggestions(round_id: int):
    round_ = _round(round_id)
    _checked_form()
    if not can_moderate(current_user, round_):
        abort(403)
    stored: list[int] = []
    if _run(
        lambda: stored.append(suggestions.suggest_round(db.session, round_, actor=current_user))
    ):
        flash(
            ngettext("%(num)d suggestion computed.", "%(num)d suggestions computed.", stored[0]),
            "success",
        )
    return redirect(url_for(".round_dashboard", round_id=round_id), 303)


@bp.post("/suggestions/<int:suggestion_id>")
@require(is_moderator)
def decide_suggestion(suggestion_id: int):
    suggestion = db.session.get(Suggestion, suggestion_id)
    if suggestion is None:
        abort(404)
    point = db.session.get(Point, suggestion.point_id)
    triage = _triage(point.observation_id)
    _checked_form()
    decision = request.form.get("decision", "")
    if decision not in ("accept", "dismiss"):
        abort(400)
    accept = decision == "accept"
    _apply(
        lambda: suggestions.decide(
            db.session, triage, suggestion, accept=accept, actor=current_user, seen_lock=_lock()
        ),
        _("Suggestion accepted for %(label)s.", label=point.label)
        if accept
        else _("Suggestion dismissed for %(label)s.", label=point.label),
    )
    return redirect(
        url_for(".show_observation", observation_id=point.observation_id) + "#suggestions", 303
    )


# Dashboard ---------------------------------------------------------------------------------


@bp.get("/rounds/<int:round_id>/dashboard")
@require(is_moderator)
def round_dashboard(round_id: int):
    round_ = _round(round_id)
    board = dashboard.round_dashboard(db.session, round_)
    from app.moderation.models import STATE_LABELS
    from app.moderation.tags import POLICY_AREA_NAMES

    charts = [
        (
            "state",
            _("Observations by triage state"),
            [(str(label), board.by_state.get(state, 0)) for state, label in STATE_LABELS.items()],
        ),
        (
            "area",
            _("Observations by policy area"),
            [(name, board.by_area.get(area, 0)) for area, name in POLICY_AREA_NAMES.items()],
        ),
        (
            "kind",
            _("Observations by kind of organisation"),
            [
                (str(KIND_LABELS[kind]) if kind is not None else _("No organisation"), count)
                for kind, count in sorted(
                    board.by_kind.items(), key=lambda item: (item[0] is None, str(item[0]))
                )
            ],
        ),
        (
            "zone",
            _("Observations by zona omogenea"),
            [(name or _("No zone"), count) for name, count in board.by_zone],
        ),
        (
            "channel",
            _("Observations by channel"),
            [
                (str(CHANNEL_LABELS[channel]), count)
                for channel, count in sorted(board.by_channel.items())
            ],
        ),
    ]
    return render_template(
        "moderation/dashboard.html",
        round=round_,
        board=board,
        charts=[(key, title, rows, dashboard.bars(rows)) for key, title, rows in charts],
        chart_width=dashboard.WIDTH,
        label_width=dashboard.LABEL_WIDTH,
        may_change=can_moderate(current_user, round_),
    )
