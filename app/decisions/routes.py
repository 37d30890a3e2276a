"""The editors' decision workspace, answer templates, coverage, and "where did my point go".
Views are thin: the role is checked by ``@require`` before anything is looked up, the object
predicate once it is; one commit per request through ``commit_or_refuse``."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.core.confirm import ask_first, is_confirmed
from app.core.i18n import lazy_gettext as _l
from app.core.pagination import paginate
from app.core.permissions import anyone, is_editor, is_staff, require
from app.core.ratelimit import limiter
from app.core.refusals import commit_or_refuse, show_refusal
from app.core.security import public
from app.core.templating import add_nav_item
from app.decisions import coverage as coverage_
from app.decisions import groups, links, operations, queries
from app.decisions.forms import DecisionForm, PublishForm, SettingsForm, TemplateForm, TraceForm
from app.decisions.models import OUTCOME_LABELS, STATE_LABELS, AnswerTemplate, Conflict
from app.decisions.permissions import (
    can_configure_decisions,
    can_decide_point,
    can_manage_answer_templates,
    can_publish_round,
    can_read_decisions,
    can_read_point_decision,
    can_see_coverage,
    can_see_trace,
    is_registered,
)
from app.extensions import db
from app.moderation import points as moderation_points
from app.moderation import publication
from app.moderation.models import Triage, TriageState
from app.observations.models import Observation, ObservationState, Point
from app.observations.permissions import can_follow
from app.observations.queries import OBSERVATION, by_receipt
from app.plans.changes import register_change_annotator, register_link_guard
from app.plans.models import Paragraph, Section
from app.rounds.models import Round, RoundState
from app.rounds.operations import register_conclusion_check
from app.rounds.queries import ROUND

bp = Blueprint("decisions", __name__, url_prefix="/decisions")

PAGE_SIZE = 25

add_nav_item("decisions.index", _l("Decisions"), is_editor, prefix="decisions")


@bp.record_once
def _template_helpers(state) -> None:
    register_conclusion_check(coverage_.conclusion_check)
    register_link_guard(links.link_guard)
    register_change_annotator(links.change_annotator)
    state.app.jinja_env.globals.update(
        outcome_labels=OUTCOME_LABELS,
        decision_state_labels=STATE_LABELS,
        # lower domains' pages link here only where these exist (they do not import decisions)
        trace_url=lambda observation: url_for("decisions.trace", observation_id=observation.id),
        coverage_url=lambda round_: url_for("decisions.coverage", round_id=round_.id),
    )


def _paragraph_choices(round_: Round) -> list[SelectChoice]:
    """The consulted version's paragraphs, in reading order, for "already covered"."""
    rows = db.session.execute(
        select(Paragraph.id, Paragraph.text, Section.number, Section.title)
        .join(Section, Section.id == Paragraph.section_id)
        .where(Paragraph.version_id == round_.plan_version_id)
        .order_by(Section.id, Paragraph.position)
    ).all()
    choices = [SelectChoice("", _("— none —"))]
    for pid, text, number, title in rows:
        start = text if len(text) <= 70 else text[:70].rsplit(" ", 1)[0] + "…"
        choices.append(SelectChoice(str(pid), f"{number or title}: {start}"))
    return choices


# The workspace -----------------------------------------------------------------------------


@bp.get("/")
@require(is_editor)
def index():
    """The rounds whose points are decided here, latest first."""
    query = (
        select(Round)
        .where(
            Round.state.in_(
                (RoundState.OPEN, RoundState.CLOSED, RoundState.IN_REVIEW, RoundState.CONCLUDED)
            )
        )
        .order_by(Round.opens_at.desc(), Round.id.desc())
    )
    return render_template("decisions/index.html", page=paginate(query, per_page=PAGE_SIZE))


@bp.get("/rounds/<int:round_id>/")
@require(is_editor, load=ROUND, visible=can_read_decisions)
def workspace(round_: Round):
    flt = queries.WorkFilter.from_args(request.args)
    page = paginate(queries.workspace_query(round_, current_user, flt), per_page=PAGE_SIZE)
    ids = [point.id for point in page.items]
    return render_template(
        "decisions/workspace.html",
        round=round_,
        flt=flt,
        page=page,
        decisions=queries.decisions_by_point(db.session, ids),
        assignees=moderation_points.assignees_of(db.session, ids),
        counts=queries.counts(db.session, round_),
        publish_form=PublishForm(),
    )


def _fill(form: DecisionForm, round_: Round, decision) -> None:
    form.paragraph_id.choices = _paragraph_choices(round_)
    form.changes.choices = links.change_choices(db.session, round_)
    if request.method == "GET" and decision is not None:
        form.outcome.data = decision.outcome.value if decision.outcome else ""
        form.reasoning.data = decision.reasoning
        form.lock_version.data = decision.lock_version
        linked = links.links_of(db.session, decision)
        paragraph = next((link.paragraph_id for link in linked if link.paragraph_id), None)
        form.paragraph_id.data = str(paragraph) if paragraph else ""
        form.changes.data = links.chosen_values(linked)


def _point_page(point: Point, form: DecisionForm, status: int = 200, current=None):
    round_ = point.observation.round
    decision = queries.decision_of(db.session, point)
    template_id = request.args.get("template", "")
    if request.method == "GET" and template_id.isdigit() and len(template_id) < 9:
        template = db.session.get(AnswerTemplate, int(template_id))
        if template is not None and not template.archived:
            form.reasoning.data = template.body
            if template.outcome and not form.outcome.data:
                form.outcome.data = template.outcome.value
    return render_template(
        "decisions/point.html",
        point=point,
        observation=point.observation,
        round=round_,
        decision=decision,
        current=current,
        revisions=queries.revisions_of(db.session, decision),
        templates=queries.usable_templates(db.session),
        assignees=moderation_points.assignees_of(db.session, [point.id])[point.id],
        follow=links.follow_point(db.session, point, round_),
        form=form,
        publish_form=PublishForm(formdata=None, lock_version=decision.lock_version)
        if decision
        else None,
        may_decide=can_decide_point(current_user, point),
        group_plan=groups.plan_group(db.session, point, actor=current_user),
    ), status


@bp.get("/points/<int:point_id>/")
@require(is_editor, load=queries.POINT, visible=can_read_point_decision)
def point(point: Point):
    decision = queries.decision_of(db.session, point)
    form = DecisionForm()
    _fill(form, point.observation.round, decision)
    return _point_page(point, form)


def _draft_from(form: DecisionForm) -> operations.Draft:
    paragraph = form.paragraph_id.data or ""
    change_ids, span_ids = links.parse_values(form.changes.data or [])
    return operations.Draft(
        outcome=form.chosen_outcome(),
        reasoning=form.reasoning.data or "",
        seen_lock=form.lock_version.data,
        paragraph_id=int(paragraph) if paragraph.isdigit() and len(paragraph) < 9 else None,
        change_ids=change_ids,
        span_ids=span_ids,
    )


@bp.post("/points/<int:point_id>/save")
@require(is_editor, load=queries.POINT, visible=can_read_point_decision, allowed=can_decide_point)
def save(point: Point):
    form = DecisionForm()
    _fill(form, point.observation.round, None)
    if not form.validate_on_submit():
        return _point_page(point, form, 422)
    with commit_or_refuse(form, field="outcome", show=False) as attempt:
        operations.save(db.session, point, _draft_from(form), actor=current_user)
    if attempt.done:
        flash(_("Decision saved."), "success")
        return redirect(url_for("decisions.point", point_id=point.id))
    point = db.session.get(Point, point.id)
    if isinstance(attempt.refusal, Conflict):
        flash(str(attempt.refusal.message), "danger")
        current = queries.decision_of(db.session, point)
        form.lock_version.data = current.lock_version if current else None
        return _point_page(point, form, 409, current=current)
    show_refusal(form, attempt.refusal, field="outcome")
    return _point_page(point, form, 422)


@bp.post("/points/<int:point_id>/publish")
@require(is_editor, load=queries.POINT, visible=can_read_point_decision, allowed=can_decide_point)
def publish(point: Point):
    form = PublishForm()
    if page := ask_first(
        title=_("Publish the decision on %(label)s?", label=point.label),
        consequence=_(
            "The author is told by e-mail and reads the outcome and its reasoning. Later "
            "changes are kept as revisions, shown beside it."
        ),
        confirm_label=_("Publish the decision"),
        cancel_url=url_for("decisions.point", point_id=point.id),
    ):
        return page
    with commit_or_refuse() as attempt:
        operations.publish(db.session, point, actor=current_user, seen_lock=form.lock_version.data)
    if attempt.done:
        flash(_("Decision published: the author is told by e-mail."), "success")
    return redirect(url_for("decisions.point", point_id=point.id))


@bp.post("/points/<int:point_id>/group")
@require(is_editor, load=queries.POINT, visible=can_read_point_decision, allowed=can_decide_point)
def apply_to_group(point: Point):
    """Give this point's decision to the other members of its confirmed group, after asking
    (the page lists who takes it and who is set aside, and why). Once confirmed, the group is
    planned only inside ``apply_to_group``, in the transaction that carries it out."""
    if not is_confirmed():
        plan = groups.plan_group(db.session, point, actor=current_user)
        if plan is None:
            abort(404)
        return ask_first(
            title=_("Give this decision to the group?"),
            consequence=ngettext(
                "%(num)d other observation of the group gets the same outcome, reasoning and "
                "links, as its own decision (published if this one is, with its e-mail).",
                "%(num)d other observations of the group get the same outcome, reasoning and "
                "links, each as its own decision (published if this one is, with their e-mails).",
                len(plan.targets),
            ),
            confirm_label=_("Give it to the group"),
            cancel_url=url_for("decisions.point", point_id=point.id),
            details=Markup(render_template("decisions/_group_plan.html", plan=plan)),  # noqa: S704
        )
    with commit_or_refuse() as attempt:
        plan = groups.apply_to_group(db.session, point, actor=current_user)
    if attempt.done:
        flash(
            ngettext(
                "The decision was given to %(num)d other observation of the group.",
                "The decision was given to %(num)d other observations of the group.",
                len(plan.targets),
            ),
            "success",
        )
    return redirect(url_for("decisions.point", point_id=point.id))


@bp.post("/rounds/<int:round_id>/publish")
@require(is_editor, load=ROUND, visible=can_read_decisions, allowed=can_publish_round)
def publish_round(round_: Round):
    if page := ask_first(
        title=_("Publish every draft decision of %(title)s?", title=round_.title),
        consequence=_(
            "Every draft decision of the consultation is published at once, or none if one "
            "of them is not ready. The authors are told by e-mail."
        ),
        confirm_label=_("Publish all drafts"),
        cancel_url=url_for("decisions.workspace", round_id=round_.id),
    ):
        return page
    with commit_or_refuse(show=False) as attempt:
        published = operations.publish_round(db.session, round_, actor=current_user)
    if attempt.done:
        flash(
            ngettext("%(num)d decision published.", "%(num)d decisions published.", published),
            "success",
        )
        return redirect(url_for("decisions.workspace", round_id=round_.id))
    refusal = attempt.refusal
    if isinstance(refusal, operations.PublicationRefused):
        round_ = db.session.get(Round, round_.id)
        return render_template(
            "decisions/publication_refused.html", round=round_, refusal=refusal
        ), 422
    flash(str(refusal.message), "danger")
    return redirect(url_for("decisions.workspace", round_id=round_.id))


# Settings and templates --------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/settings", methods=["GET", "POST"])
@require(is_staff, load=ROUND, visible=can_see_coverage, allowed=can_configure_decisions)
def settings(round_: Round):
    stored = operations.settings_of(db.session, round_)
    form = SettingsForm()
    if request.method == "GET":
        form.any_editor.data = stored.any_editor
        form.reasoning_optional.data = sorted(o.value for o in stored.optional_outcomes)
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            operations.configure(
                db.session,
                round_,
                any_editor=form.any_editor.data,
                reasoning_optional=form.reasoning_optional.data or [],
                actor=current_user,
            )
        if attempt.done:
            flash(_("Settings saved."), "success")
            return redirect(url_for("decisions.coverage", round_id=round_.id))
    return render_template("decisions/settings.html", round=round_, form=form)


@bp.route("/templates/", methods=["GET", "POST"])
@require(can_manage_answer_templates)
def templates():
    form = TemplateForm()
    status = 200
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            operations.create_template(
                db.session,
                title=form.title.data,
                body=form.body.data,
                outcome=form.chosen_outcome(),
                actor=current_user,
            )
        if attempt.done:
            flash(_("Template added."), "success")
            return redirect(url_for("decisions.templates"))
        status = attempt.status
    elif request.method == "POST":
        status = 422
    query = (
        select(AnswerTemplate)
        .where(AnswerTemplate.archived.is_(False))
        .order_by(AnswerTemplate.title, AnswerTemplate.id)
    )
    return render_template(
        "decisions/templates.html",
        form=form,
        page=paginate(query, per_page=PAGE_SIZE),
        archive_form=PublishForm(),
    ), status


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@require(can_manage_answer_templates, load=queries.TEMPLATE)
def edit_template(template: AnswerTemplate):
    form = TemplateForm(obj=template)
    if request.method == "GET":
        form.outcome.data = template.outcome.value if template.outcome else ""
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            operations.update_template(
                db.session,
                template,
                title=form.title.data,
                body=form.body.data,
                outcome=form.chosen_outcome(),
                actor=current_user,
            )
        if attempt.done:
            flash(_("Template changed."), "success")
            return redirect(url_for("decisions.templates"))
    return render_template("decisions/template_edit.html", form=form, template=template)


@bp.post("/templates/<int:template_id>/archive")
@require(can_manage_answer_templates, load=queries.TEMPLATE)
def archive_template(template: AnswerTemplate):
    with commit_or_refuse() as attempt:
        operations.archive_template(db.session, template, actor=current_user)
    if attempt.done:
        flash(_("Template archived: it is no longer offered."), "success")
    return redirect(url_for("decisions.templates"))


# Coverage ----------------------------------------------------------------------------------


@bp.get("/rounds/<int:round_id>/coverage")
@require(is_staff, load=ROUND, visible=can_see_coverage)
def coverage(round_: Round):
    return render_template(
        "decisions/coverage.html",
        round=round_,
        coverage=coverage_.coverage(db.session, round_),
    )


# Where did my point go ---------------------------------------------------------------------


def _trace_page(observation: Observation, form=None, status: int = 200, *, public=False):
    """The trace page. ``public``: for a reader who does not follow the observation (a public
    round after its close), who reads what the public reads — the redacted text, no hidden
    point, no title or proposed text — and a hidden observation does not exist for them."""
    withdrawn = observation.state is ObservationState.WITHDRAWN
    traced = queries.trace(db.session, observation)
    published = None
    if public:
        published = publication.published_text(db.session, observation)
        if published is None:
            abort(404)
        shown = publication.published_point_texts(db.session, [item.point for item in traced])
        traced = [item for item in traced if shown.get(item.point.id) is not None]
        published = {"body": published, "points": shown}
    triage = db.session.get(Triage, observation.id)
    return render_template(
        "decisions/trace.html",
        observation=observation,
        withdrawn=withdrawn,
        traced=traced,
        published=published,
        not_admissible=triage is not None and triage.state is TriageState.NOT_ADMISSIBLE,
        triage=triage,
        changes=links.trace_changes(db.session, observation),
        standings={}
        if withdrawn
        else links.follow_points(db.session, [item.point for item in traced], observation.round),
        form=form,
    ), status


@bp.get("/trace/<int:observation_id>")
@public
@require(anyone, load=OBSERVATION, visible=is_registered, allowed=can_see_trace)
def trace(observation: Observation):
    """Where the points of an observation went: its author, its organisation and staff;
    anyone for a round whose observations are public after the close (as published)."""
    return _trace_page(observation, public=not can_follow(current_user, observation))


@bp.route("/trace", methods=["GET", "POST"])
@public
def trace_receipt():
    """The same page from a receipt: protocol number and verification code. A wrong code
    answers exactly as an unknown protocol number, and attempts are rate-limited."""
    form = TraceForm()
    if form.validate_on_submit():
        client = request.remote_addr or "unknown"
        wait = limiter.hit(f"trace:{client}", current_app.config["TRACK_ATTEMPTS_PER_MINUTE"])
        if wait is not None:
            from app.core.errors import error_response

            response = error_response(429)
            response.headers["Retry-After"] = str(wait)
            return response
        found = by_receipt(form.protocol.data, form.code.data)
        if found is not None:
            return _trace_page(found, form)
        flash(_("No observation matches this protocol number and code."), "danger")
        return render_template("decisions/trace_form.html", form=form), 404
    status = 422 if request.method == "POST" else 200
    return render_template("decisions/trace_form.html", form=form), status
