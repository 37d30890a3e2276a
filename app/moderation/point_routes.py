"""Pages for splitting observations into points, notes and bulk actions on points, redaction
and hiding (on the moderation blueprint), and the public list of a round's published
observations (its own small blueprint, ``publication``). Views are thin, as in ``routes``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import User
from app.core.confirm import ask_first, is_confirmed
from app.core.permissions import anyone, is_moderator, require
from app.core.refusals import commit_or_refuse
from app.core.security import public
from app.extensions import db
from app.moderation import operations, point_bulk, publication, redaction, splitting
from app.moderation.forms import BulkForm, NoteForm
from app.moderation.models import PublicationHide, Redaction, Tag
from app.moderation.permissions import can_read_notes, can_read_publication, can_redact
from app.moderation.point_notes import point_notes_of
from app.moderation.routes import (
    _apply,
    _filter_args,
    _ids,
    _lock,
    _point,
    _round,
    _triage,
    bounded_id,
    bp,
    bulk_page,
    bulk_scope,
)
from app.observations import routes as observation_routes
from app.observations.models import Point, PointState
from app.plans.anchors import Anchor, Target, resolve
from app.plans.tree import load_tree
from app.rounds.models import Round
from app.rounds.queries import ROUND

public_bp = Blueprint("publication", __name__, url_prefix="/published")

#: Blank point rows the split form offers beyond the points there are.
EXTRA_ROWS = 3
ROWS_MAX = 30


def item_context(triage, observation_points) -> dict:
    """What the item page shows of this module: point notes, the bulk form's actions, the
    publication state (one statement each)."""
    ids = [p.id for p in observation_points]
    observation = triage.observation
    hides = publication.hides_of(db.session, [observation.id])[observation.id]
    return {
        "point_notes": point_notes_of(db.session, ids) if can_read_notes(current_user) else {},
        "point_actions": point_bulk.ACTION_LABELS,
        "points_max": point_bulk.POINTS_MAX,
        "hidden_points": {h.point_id for h in hides if h.point_id is not None},
        "observation_hidden": any(h.point_id is None for h in hides),
        "may_redact": can_redact(current_user, observation.round),
    }


# Splitting ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One point row of the split form."""

    point: Point | None = None
    summary: str = ""
    anchor: str = ""
    quote: str = ""


@dataclass
class SplitFormState:
    rows: list[Row]
    #: For each segment of the text, the row (1-based) it goes to, or 0.
    chosen: list[int]
    accept_unassigned: bool = False
    unassigned: list[str] = field(default_factory=list)


def _anchor_value(point: Point) -> str:
    if point.target in (Target.PARAGRAPH, Target.PASSAGE):
        return f"p:{point.paragraph.key}"
    if point.target is Target.SECTION:
        return f"s:{point.section.key}"
    return ""


def _segments(observation, active: list[Point]) -> list[tuple[int, int]]:
    """The sentences, cut again where an active point starts or ends (so every point the
    observation has can be shown as the segments it covers)."""
    cuts = {p.excerpt_start for p in active if p.excerpt_start is not None}
    cuts |= {p.excerpt_end for p in active if p.excerpt_end is not None}
    result = []
    for start, end in splitting.segments(observation.body_text):
        inner = sorted(c for c in cuts if start < c < end)
        for a, b in zip([start, *inner], [*inner, end], strict=True):
            a, b = splitting.trim(observation.body_text, a, b)
            if b > a:
                result.append((a, b))
    return result


def _state_from_points(segments, active: list[Point]) -> SplitFormState:
    rows = [Row(p, p.summary or "", _anchor_value(p), p.quote_text or "") for p in active] + [
        Row() for _ in range(EXTRA_ROWS)
    ]
    chosen = []
    for start, end in segments:
        row = next(
            (
                i
                for i, p in enumerate(active, start=1)
                if p.excerpt_start is not None and p.excerpt_start <= start and end <= p.excerpt_end
            ),
            0,
        )
        chosen.append(row)
    return SplitFormState(rows, chosen)


def _state_from_form(segments, active: list[Point]) -> SplitFormState:
    form = request.form
    raw_rows = form.get("rows", "")
    count = int(raw_rows) if raw_rows.isdigit() and int(raw_rows) <= ROWS_MAX else 0
    by_id = {p.id: p for p in active}
    rows = []
    for i in range(1, count + 1):
        raw_id = form.get(f"point_id-{i}", "")
        point = by_id.get(int(raw_id)) if raw_id.isdigit() and len(raw_id) < 10 else None
        rows.append(
            Row(
                point,
                form.get(f"summary-{i}", "")[: splitting.SUMMARY_MAX + 1],
                form.get(f"anchor-{i}", "")[:40],
                form.get(f"quote-{i}", "")[:6000],
            )
        )
    chosen = []
    for j in range(len(segments)):
        raw = form.get(f"seg-{j}", "")
        chosen.append(int(raw) if raw.isdigit() and 0 < int(raw) <= count else 0)
    return SplitFormState(rows, chosen, form.get("accept_unassigned") == "yes")


def _parts(state: SplitFormState, segments, version_id: int) -> list[splitting.PartSpec]:
    """The split the form asks for: a row's segments must follow one another."""
    parts = []
    for i, row in enumerate(state.rows, start=1):
        taken = [j for j, chosen in enumerate(state.chosen) if chosen == i]
        if taken and taken != list(range(taken[0], taken[-1] + 1)):
            raise splitting.SplitError(
                _("Point row %(n)d takes sentences that do not follow one another.", n=i)
            )
        if not taken and not row.summary.strip():
            continue  # a blank row: no point (an existing point left blank is retired)
        kind, _sep, key = row.anchor.partition(":")
        if kind == "p":
            anchor = resolve(db.session, version_id, paragraph_key=key, quote=row.quote or None)
        elif kind == "s":
            anchor = resolve(db.session, version_id, section_key=key)
        else:
            anchor = Anchor(Target.PLAN)
        parts.append(
            splitting.PartSpec(
                segments[taken[0]][0] if taken else None,
                segments[taken[-1]][1] if taken else None,
                row.summary,
                anchor,
                row.point.id if row.point is not None else None,
            )
        )
    return parts


def _active(observation_id: int) -> list[Point]:
    return list(
        db.session.scalars(
            select(Point)
            .where(Point.observation_id == observation_id, Point.state == PointState.ACTIVE)
            .order_by(Point.number)
        )
    )


@bp.route("/observations/<int:observation_id>/split", methods=["GET", "POST"])
@require(is_moderator)
def split_observation(observation_id: int):
    """The split form: each sentence of the text goes to a point row (no JavaScript needed);
    a split that retires points asks first."""
    triage = _triage(observation_id)
    observation = triage.observation
    active = _active(observation_id)
    segments = _segments(observation, active)
    back = url_for(".show_observation", observation_id=observation_id)
    status = 200
    if request.method == "GET":
        state = _state_from_points(segments, active)
        lock = triage.lock_version
    else:
        if not BulkForm().validate_on_submit():
            abort(400)
        state = _state_from_form(segments, active)
        lock = _lock()
        version_id = observation.round.plan_version_id
        result = None
        with commit_or_refuse(show=False) as attempt:
            result = splitting.split(
                db.session,
                triage,
                _parts(state, segments, version_id),
                actor=current_user,
                seen_lock=lock,
                accept_unassigned=state.accept_unassigned,
            )
            if result.retired and not is_confirmed():
                attempt.discard()
        if attempt.done and not attempt.discarded:
            if result.changed:
                flash(
                    ngettext(
                        "%(code)s now has %(num)d point.",
                        "%(code)s now has %(num)d points.",
                        len(result.points),
                        code=observation.protocol_code,
                    ),
                    "success",
                )
            else:
                flash(_("Nothing changed."), "info")
            return redirect(back + "#points", 303)
        if attempt.refusal is None:  # a split that retires points: ask first
            labels = ", ".join(f"{observation.protocol_code}/{p.number}" for p in result.retired)
            return ask_first(
                title=_("Retire %(labels)s?", labels=labels),
                consequence=_(
                    "A retired point keeps its number, which is never given to another point; "
                    "its assignments end. New points get new numbers."
                ),
                confirm_label=_("Split and retire"),
                cancel_url=back,
            )
        triage = _triage(observation_id)
        observation = triage.observation
        error = attempt.refusal
        state.unassigned = getattr(error, "unassigned", [])
        flash(str(error.message), "danger")
        status = 422
    tree = load_tree(db.session, observation.round.version, text=False)
    return render_template(
        "moderation/split.html",
        observation=observation,
        triage=triage,
        lock=lock,
        segments=[observation.body_text[a:b] for a, b in segments],
        state=state,
        tree=tree,
    ), status


# Notes on points ---------------------------------------------------------------------------


@bp.post("/points/<int:point_id>/notes")
@require(is_moderator)
def add_point_note(point_id: int):
    triage, point = _point(point_id)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("Write the note (at most 5,000 characters)."), "danger")
    else:
        _apply(
            lambda: operations.add_note(
                db.session,
                triage.observation,
                author=current_user,
                body=form.body.data,
                point=point,
            ),
            _("Note added. Only staff can read it."),
        )
    return redirect(
        url_for(".show_observation", observation_id=point.observation_id) + f"#point-{point.id}",
        303,
    )


# Bulk actions on points --------------------------------------------------------------------


def _point_selection() -> dict[int, int]:
    """``point`` values are ``<point id>:<lock version of its observation the page showed>``."""
    selection = {}
    for value in request.form.getlist("point")[: point_bulk.POINTS_MAX + 1]:
        point_id, _sep, lock = value.partition(":")
        if not (point_id.isdigit() and lock.isdigit()) or len(value) > 20:
            abort(400)
        selection[int(point_id)] = int(lock)
    return selection


@bp.post("/rounds/<int:round_id>/points/bulk")
@require(is_moderator)
def bulk_points(round_id: int):
    """Every ticked point, or (``point_scope=filter``, from the queue) every point of the
    observations the filter finds, or none."""
    round_ = _round(round_id)
    if not BulkForm().validate_on_submit():
        abort(400)
    form = request.form
    everything = form.get("point_scope") == "filter"
    if everything:
        back = url_for(".queue", round_id=round_id, **_filter_args(form))
    else:
        back = form.get("back", "")
        if not back.startswith("/moderation/") or len(back) > 200:
            back = url_for(".queue", round_id=round_id)
    tag_id = bounded_id(form.get("point_tag_id"))
    editor_ids = _ids("editors")
    return bulk_page(
        round_,
        back,
        partial(
            point_bulk.plan_point_bulk,
            db.session,
            round_,
            action=form.get("point_action", ""),
            actor=current_user,
            **bulk_scope(round_, everything, _point_selection),
            tag_id=tag_id,
            editor_ids=editor_ids,
        ),
        changed=lambda n: ngettext("%(num)d point changed.", "%(num)d points changed.", n),
        template="moderation/points_bulk_preview.html",
        context=lambda plan: {
            "tag": db.session.get(Tag, tag_id)
            if tag_id and plan.action in ("tag", "untag")
            else None,
            "chosen_editors": db.session.scalars(select(User).where(User.id.in_(editor_ids))).all()
            if plan.action in ("assign", "unassign")
            else [],
            "action_labels": point_bulk.ACTION_LABELS,
        },
    )


# Redaction and hiding ----------------------------------------------------------------------


def _redactable(observation_id: int):
    triage = _triage(observation_id)
    if not can_redact(current_user, triage.observation.round):
        abort(404)
    return triage


@bp.get("/observations/<int:observation_id>/publication")
@require(is_moderator)
def publication_page(observation_id: int):
    """What the public will read of the observation and its points, beside the original."""
    triage = _redactable(observation_id)
    observation = triage.observation
    active = _active(observation_id)
    redactions = db.session.scalars(
        select(Redaction)
        .where(Redaction.observation_id == observation_id)
        .order_by(Redaction.lifted_at.is_not(None), Redaction.start_offset, Redaction.id)
    ).all()
    hides = db.session.scalars(
        select(PublicationHide)
        .where(PublicationHide.observation_id == observation_id)
        .order_by(PublicationHide.lifted_at.is_not(None), PublicationHide.id)
    ).all()
    in_force = [r for r in redactions if r.lifted_at is None]
    return render_template(
        "moderation/publication.html",
        triage=triage,
        observation=observation,
        points=active,
        redactions=redactions,
        hides=hides,
        preview=publication.apply_redactions(observation.body_text, in_force),
        point_previews={
            p.id: p.summary
            if p.excerpt_start is None
            else publication.apply_redactions(
                observation.body_text, in_force, p.excerpt_start, p.excerpt_end
            )
            for p in active
        },
        published_now=publication.round_publishes(observation.round),
        hidden_points={h.point_id for h in hides if h.lifted_at is None and h.point_id},
        observation_hidden=any(h.lifted_at is None and h.point_id is None for h in hides),
    )


def _back_to_publication(observation_id: int):
    return redirect(url_for(".publication_page", observation_id=observation_id), 303)


def _reason_arg() -> str:
    return request.form.get("reason", "")[:5000]


@bp.post("/observations/<int:observation_id>/redactions")
@require(is_moderator)
def add_redaction(observation_id: int):
    triage = _redactable(observation_id)
    if not BulkForm().validate_on_submit():
        abort(400)
    raw = request.form.get("occurrence", "1")
    occurrence = int(raw) if raw.isdigit() and len(raw) < 5 else 1

    def change():
        start, end = redaction.locate(
            triage.observation.body_text, request.form.get("quote", "")[:6000], occurrence
        )
        redaction.redact(
            db.session,
            triage,
            start=start,
            end=end,
            reason=_reason_arg(),
            actor=current_user,
            seen_lock=_lock(),
        )

    _apply(change, _("Redacted: the public reads [omissis] there; staff still read the words."))
    return _back_to_publication(observation_id)


@bp.post("/redactions/<int:redaction_id>/lift")
@require(is_moderator)
def lift_redaction(redaction_id: int):
    row = db.session.get(Redaction, redaction_id) or abort(404)
    triage = _redactable(row.observation_id)
    if not BulkForm().validate_on_submit():
        abort(400)
    _apply(
        lambda: redaction.lift_redaction(
            db.session, triage, row, actor=current_user, seen_lock=_lock()
        ),
        _("Redaction lifted: the public reads these words again."),
    )
    return _back_to_publication(row.observation_id)


@bp.post("/observations/<int:observation_id>/hide")
@require(is_moderator)
def hide_item(observation_id: int):
    triage = _redactable(observation_id)
    if not BulkForm().validate_on_submit():
        abort(400)
    raw = request.form.get("point_id", "")
    point = None
    if raw:
        point = db.session.get(Point, int(raw)) if raw.isdigit() and len(raw) < 10 else None
        if point is None:
            abort(404)
    _apply(
        lambda: redaction.hide(
            db.session,
            triage,
            point=point,
            reason=_reason_arg(),
            actor=current_user,
            seen_lock=_lock(),
        ),
        _("Hidden from publication."),
    )
    return _back_to_publication(observation_id)


@bp.post("/hides/<int:hide_id>/lift")
@require(is_moderator)
def lift_hide(hide_id: int):
    row = db.session.get(PublicationHide, hide_id) or abort(404)
    triage = _redactable(row.observation_id)
    if not BulkForm().validate_on_submit():
        abort(400)
    _apply(
        lambda: redaction.show_again(
            db.session, triage, row, actor=current_user, seen_lock=_lock()
        ),
        _("Published again."),
    )
    return _back_to_publication(row.observation_id)


# The public list ---------------------------------------------------------------------------


@public_bp.get("/rounds/<int:round_id>")
@public
@require(anyone, load=ROUND, visible=can_read_publication)
def published_round(round_: Round):
    """The published observations and points of a round, by section of the text."""
    tree = load_tree(db.session, round_.version, text=False)
    raw = request.args.get("section", "")
    node = tree.nodes.get(int(raw)) if raw.isdigit() and len(raw) < 10 else None
    section_ids = [n.section.id for n in node.walk()] if node is not None else None
    page = publication.public_page(db.session, round_, tree, section_ids=section_ids)
    return render_template(
        "moderation/published.html",
        round=round_,
        tree=tree,
        page=page,
        chosen=node,
    )


def _receipt_public_form(observation) -> dict:
    """For the receipt page (``observations.routes.receipt_extras``): once the round
    publishes, what the public reads of the observation."""
    if not publication.round_publishes(observation.round):
        return {}
    text = publication.published_text(db.session, observation)
    return {
        "public_form": "moderation/_receipt_public.html",
        "public_text": text,
        "public_redacted": text is not None and text != observation.body_text,
    }


observation_routes.receipt_extras.append(_receipt_public_form)
