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
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, load_only

from app.core.confirm import ask_first
from app.core.permissions import require
from app.core.security import public
from app.extensions import db, login_manager
from app.plans import operations
from app.plans.diff import NotRelated, compare
from app.plans.forms import (
    ALLOWED_HTML_HINT,
    AUDIENCE_LABELS,
    POLICY_AREA_LABELS,
    STATUS_LABELS,
    DiffForm,
    ImportForm,
    LabelForm,
    MoveToSectionForm,
    NewParagraphForm,
    NewPlanForm,
    NewSectionForm,
    ParagraphForm,
    PlanForm,
    SectionForm,
    SplitForm,
)
from app.plans.importers import ImportError_
from app.plans.models import (
    Audience,
    Paragraph,
    Plan,
    PlanError,
    PlanImport,
    PlanVersion,
    PolicyArea,
    Section,
)
from app.plans.permissions import (
    PLAN_PREDICATES,
    can_edit_version,
    can_manage_plans,
    can_read_version,
    can_see_plan,
)
from app.plans.tree import load_text, load_tree

bp = Blueprint("plans", __name__, url_prefix="/plans")

#: Versions with at most this many paragraphs are read on one page.
ONE_PAGE_PARAGRAPHS = 80
#: The import confirmation carries one field per section and paragraph.
IMPORT_FORM_PARTS = 50_000


@bp.record_once
def _register_template_helpers(state) -> None:
    env = state.app.jinja_env
    env.globals.update(PLAN_PREDICATES)
    env.globals["policy_area_label"] = lambda area: str(POLICY_AREA_LABELS.get(area, ""))
    env.globals["status_label"] = lambda status: str(STATUS_LABELS.get(status, status))


@bp.url_value_preprocessor
def _allow_large_import_forms(endpoint, values) -> None:
    # Runs before the CSRF check reads the form, which would stop at the default 1,000 parts.
    if endpoint == "plans.import_preview":
        request.max_form_parts = IMPORT_FORM_PARTS


# Loading and refusing ----------------------------------------------------------------------


def _refuse():
    """Anonymous visitors are asked to log in; logged-in users are refused."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    abort(403)


def _plan(slug: str) -> Plan:
    plan = db.session.scalar(select(Plan).where(Plan.slug == slug))
    if plan is None:
        abort(404)
    return plan


def _version(slug: str, number: int) -> PlanVersion:
    version = db.session.scalar(
        select(PlanVersion)
        .join(Plan)
        .where(Plan.slug == slug, PlanVersion.number == number)
        .options(joinedload(PlanVersion.plan))
    )
    if version is None:
        abort(404)
    return version


def _editable_version(slug: str, number: int) -> PlanVersion:
    """The version if the user may edit it; a frozen one sends the editor back to reading it."""
    version = _version(slug, number)
    if not can_edit_version(current_user, version):
        if can_manage_plans(current_user):
            flash(
                _(
                    "This version is %(status)s: its text can no longer be changed.",
                    status=STATUS_LABELS[version.status.value],
                ),
                "danger",
            )
            abort(redirect(url_for("plans.read_version", slug=slug, number=number)))
        abort(403)
    return version


def _by_key(model, version: PlanVersion, key: str):
    found = db.session.scalar(select(model).where(model.version_id == version.id, model.key == key))
    if found is None:
        abort(404)
    return found


def _section(version: PlanVersion, key: str) -> Section:
    return _by_key(Section, version, key)


def _paragraph(version: PlanVersion, key: str) -> Paragraph:
    return _by_key(Paragraph, version, key)


def _form_error(form, error: PlanError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error.message)]
    else:
        flash(str(error.message), "danger")


def _lock(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _submitted(form) -> bool:
    """``validate_on_submit``, except that a missing or garbled ``lock_version`` is no form
    error: it goes to the operation as None, which refuses it as a conflict (nothing tells
    which saved text the editor started from) and shows the current text."""
    if not form.is_submitted():
        return False
    if form.validate():
        return True
    if set(form.errors) == {"lock_version"}:
        form.lock_version.errors = []
        form.lock_version.data = None
        return True
    return False


def _gone(version: PlanVersion):
    """What was being edited was deleted by someone else meanwhile."""
    flash(_("Someone else deleted this text meanwhile: your change was not saved."), "danger")
    return _to_version(version)


def _to_version(version: PlanVersion, anchor: str | None = None):
    return redirect(
        url_for("plans.edit_version", slug=version.plan.slug, number=version.number)
        + (f"#{anchor}" if anchor else "")
    )


def _to_section_editor(version: PlanVersion, section: Section, anchor: str | None = None):
    return redirect(
        url_for(
            "plans.edit_section", slug=version.plan.slug, number=version.number, key=section.key
        )
        + (f"#{anchor}" if anchor else "")
    )


# Plans -------------------------------------------------------------------------------------


@bp.get("/")
@public
def index():
    plans = db.session.scalars(select(Plan).order_by(Plan.title)).all()
    visible = [plan for plan in plans if can_see_plan(current_user, plan)]
    return render_template("plans/index.html", plans=visible)


@bp.route("/new", methods=["GET", "POST"])
@require(can_manage_plans)
def new_plan():
    form = NewPlanForm()
    if request.method == "GET":
        form.owner.data = current_app.config["TRACCIA_OWNER_NAME"]
    if form.validate_on_submit():
        try:
            plan = operations.create_plan(
                db.session,
                title=form.title.data,
                slug=form.slug.data,
                owner=form.owner.data,
                description=form.description.data or "",
                audience=Audience(form.audience.data),
                actor=current_user,
            )
        except PlanError as error:
            db.session.rollback()
            _form_error(form, error)
        else:
            db.session.commit()
            flash(_("Plan created. Now import its text."), "success")
            return redirect(url_for("plans.import_text", slug=plan.slug))
    return render_template("plans/plan_form.html", form=form, plan=None)


@bp.route("/<slug>/settings", methods=["GET", "POST"])
@require(can_manage_plans)
def edit_plan(slug: str):
    plan = _plan(slug)
    form = PlanForm(obj=plan)
    if request.method == "GET":
        form.audience.data = plan.audience.value
    if form.validate_on_submit():
        operations.update_plan(
            db.session,
            plan,
            title=form.title.data,
            owner=form.owner.data,
            description=form.description.data or "",
            audience=Audience(form.audience.data),
            actor=current_user,
        )
        db.session.commit()
        flash(_("Changes saved."), "success")
        return redirect(url_for("plans.show_plan", slug=plan.slug))
    return render_template("plans/plan_form.html", form=form, plan=plan)


@bp.get("/<slug>/")
@public
def show_plan(slug: str):
    plan = _plan(slug)
    if not can_see_plan(current_user, plan):
        return _refuse()
    versions = [v for v in plan.versions if can_read_version(current_user, v)]
    pending = []
    if can_manage_plans(current_user):
        pending = db.session.scalars(
            select(PlanImport)
            .where(PlanImport.plan_id == plan.id)
            .order_by(PlanImport.id)
            .options(load_only(PlanImport.label, PlanImport.filename))  # not the structure
        ).all()
    return render_template(
        "plans/plan.html",
        plan=plan,
        versions=versions,
        pending=pending,
        label_form=LabelForm(),
        audience_labels=AUDIENCE_LABELS,
    )


# Reading -----------------------------------------------------------------------------------


@bp.get("/<slug>/v<int:number>/")
@public
def read_version(slug: str, number: int):
    version = _version(slug, number)
    if not can_read_version(current_user, version):
        return _refuse()
    tree = load_tree(db.session, version)
    whole = tree.paragraph_count <= ONE_PAGE_PARAGRAPHS
    return render_template(
        "plans/read.html",
        version=version,
        plan=version.plan,
        tree=tree,
        nodes=tree.roots if whole else [],
        whole=whole,
    )


@bp.get("/<slug>/v<int:number>/s/<key>")
@public
def read_section(slug: str, number: int, key: str):
    version = _version(slug, number)
    if not can_read_version(current_user, version):
        return _refuse()
    tree = load_tree(db.session, version, text=False)
    node = tree.node_by_key(key)
    if node is None:
        abort(404)
    if node.depth > 1:  # subsections are read on their top-level section's page
        top = node
        while top.section.parent_id is not None:
            top = tree.nodes[top.section.parent_id]
        return redirect(
            url_for("plans.read_section", slug=slug, number=number, key=top.section.key)
            + f"#s-{key}"
        )
    index = tree.roots.index(node)
    load_text(db.session, node.walk())  # the text of this section only
    return render_template(
        "plans/read.html",
        version=version,
        plan=version.plan,
        tree=tree,
        nodes=[node],
        whole=False,
        previous=tree.roots[index - 1] if index > 0 else None,
        following=tree.roots[index + 1] if index + 1 < len(tree.roots) else None,
    )


@bp.get("/<slug>/v<int:number>/p/<key>")
@public
def paragraph_link(slug: str, number: int, key: str):
    """A paragraph's permalink: its place on the reading page, whichever page that is."""
    version = _version(slug, number)
    if not can_read_version(current_user, version):
        return _refuse()
    tree = load_tree(db.session, version, text=False)
    found = tree.paragraph_by_key(key)
    if found is None:
        abort(404)
    node = found[0]
    if tree.paragraph_count <= ONE_PAGE_PARAGRAPHS:
        return redirect(url_for("plans.read_version", slug=slug, number=number) + f"#p-{key}")
    while node.section.parent_id is not None:
        node = tree.nodes[node.section.parent_id]
    return redirect(
        url_for("plans.read_section", slug=slug, number=number, key=node.section.key) + f"#p-{key}"
    )


@bp.get("/<slug>/diff")
@public
def diff(slug: str):
    plan = _plan(slug)
    if not can_see_plan(current_user, plan):
        return _refuse()
    versions = [v for v in plan.versions if can_read_version(current_user, v)]
    form = DiffForm(request.args)
    result = None
    if request.args and form.validate():
        by_number = {v.number: v for v in versions}
        old, new = by_number.get(form.old.data), by_number.get(form.new.data)
        if old is None or new is None:
            form.new.errors = [_("Choose two versions of this plan that you can read.")]
        elif old.number == new.number:
            form.new.errors = [_("Choose two different versions.")]
        else:
            if old.number > new.number:
                old, new = new, old
            try:
                result = compare(db.session, old, new)
            except NotRelated:
                form.new.errors = [
                    _(
                        "These two versions do not descend from one another: they cannot be "
                        "compared."
                    )
                ]
    elif not request.args and len(versions) >= 2:
        latest = versions[-1]
        previous = next((v for v in versions if v.id == latest.predecessor_id), None)
        if previous is not None:
            return redirect(
                url_for("plans.diff", slug=slug, old=previous.number, new=latest.number)
            )
    status = 400 if form.errors else 200
    return render_template(
        "plans/diff.html", plan=plan, versions=versions, form=form, result=result
    ), status


# Version life cycle ------------------------------------------------------------------------


@bp.post("/<slug>/v<int:number>/successor")
@require(can_manage_plans)
def start_successor(slug: str, number: int):
    version = _version(slug, number)
    form = LabelForm()
    if not form.validate_on_submit():
        flash(_("Give the new version a label."), "danger")
        return redirect(url_for("plans.show_plan", slug=slug))
    try:
        successor = operations.create_successor(
            db.session, version, label=form.label.data, actor=current_user
        )
    except PlanError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return redirect(url_for("plans.show_plan", slug=slug))
    db.session.commit()
    flash(_("New draft created: every section and paragraph was carried over."), "success")
    return _to_version(successor)


#: What freezing and adopting ask before they happen (see app.core.confirm).
_TRANSITION_QUESTIONS = {
    "freeze": lambda version: {
        "title": _("Freeze version %(n)d, “%(label)s”?", n=version.number, label=version.label),
        "consequence": _(
            "Once frozen, the text of this version can never be changed again: consultations, "
            "observations and decisions point to it as it is now. Further changes go into a "
            "new version."
        ),
        "confirm_label": _("Freeze the version"),
    },
    "adopt": lambda version: {
        "title": _(
            "Mark version %(n)d, “%(label)s”, as adopted?", n=version.number, label=version.label
        ),
        "consequence": _(
            "The version becomes the plan as adopted; it cannot go back to being a frozen "
            "draft, and no consultation can be opened on it."
        ),
        "confirm_label": _("Mark as adopted"),
    },
}


@bp.post("/<slug>/v<int:number>/state")
@require(can_manage_plans)
def change_state(slug: str, number: int):
    version = _version(slug, number)
    transitions = {"freeze": operations.freeze_version, "adopt": operations.adopt_version}
    name = request.form.get("transition", "")
    transition = transitions.get(name)
    if transition is None:
        abort(400)
    if page := ask_first(
        cancel_url=url_for("plans.show_plan", slug=slug), **_TRANSITION_QUESTIONS[name](version)
    ):
        return page
    try:
        transition(db.session, version, actor=current_user)
    except PlanError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
    else:
        db.session.commit()
        flash(
            _("The version is now %(status)s.", status=STATUS_LABELS[version.status.value]),
            "success",
        )
    return redirect(url_for("plans.show_plan", slug=slug))


# Import ------------------------------------------------------------------------------------


@bp.route("/<slug>/import", methods=["GET", "POST"])
@require(can_manage_plans)
def import_text(slug: str):
    plan = _plan(slug)
    form = ImportForm()
    form.predecessor.choices = [(0, _("— nothing: the plan's first text —"))] + [
        (v.number, f"{v.number}. {v.label} ({STATUS_LABELS[v.status.value]})")
        for v in reversed(plan.versions)
    ]
    if request.method == "GET":  # a new text usually continues the latest fixed version
        fixed = [v for v in plan.versions if not v.is_draft]
        form.predecessor.data = fixed[-1].number if fixed else 0
    status = 200
    if form.validate_on_submit():
        predecessor = next((v for v in plan.versions if v.number == form.predecessor.data), None)
        upload = form.file.data
        limit = current_app.config["PLAN_IMPORT_MAX_BYTES"]
        data = upload.stream.read(limit + 1)
        try:
            plan_import = operations.start_import(
                db.session,
                plan,
                data=data,
                filename=upload.filename or "",
                label=form.label.data,
                predecessor=predecessor,
                max_bytes=limit,
                actor=current_user,
            )
        except (ImportError_, PlanError) as error:
            db.session.rollback()
            field = form.predecessor if error.field == "predecessor" else form.file
            field.errors = [*field.errors, str(error.message)]
            status = 422
        else:
            db.session.commit()
            return redirect(url_for("plans.import_preview", slug=slug, import_id=plan_import.id))
    elif request.method == "POST":
        status = 400
    return render_template("plans/import.html", plan=plan, form=form), status


@bp.route("/<slug>/import/<int:import_id>", methods=["GET", "POST"])
@require(can_manage_plans)
def import_preview(slug: str, import_id: int):
    plan = _plan(slug)
    plan_import = db.session.get(PlanImport, import_id)
    if plan_import is None or plan_import.plan_id != plan.id:
        abort(404)
    form = LabelForm(label=plan_import.label)  # CSRF, and the label may still be changed
    old = None
    if plan_import.predecessor is not None:
        old = load_tree(db.session, plan_import.predecessor)
    status = 200
    if request.method == "POST":
        if request.form.get("action") == "cancel" and form.validate_on_submit():
            operations.cancel_import(db.session, plan_import, actor=current_user)
            db.session.commit()
            flash(_("Import cancelled: nothing was saved."), "info")
            return redirect(url_for("plans.show_plan", slug=slug))
        if form.validate_on_submit():
            corrections = {
                name: value for name, value in request.form.items() if name.startswith(("s-", "p-"))
            }
            plan_import.label = form.label.data.strip()
            try:
                version = operations.confirm_import(
                    db.session, plan_import, corrections=corrections, actor=current_user
                )
            except PlanError as error:
                db.session.rollback()
                flash(str(error.message), "danger")
                status = 422
            else:
                db.session.commit()
                flash(_("Text imported as a new draft version."), "success")
                return redirect(url_for("plans.read_version", slug=slug, number=version.number))
        else:
            status = 400
    sections = plan_import.structure["sections"]
    old_sections = {n.section.key: n.section for n in old.walk()} if old else {}
    old_paragraphs = {p.key: p for _n, p in old.paragraphs()} if old else {}
    return render_template(
        "plans/import_preview.html",
        plan=plan,
        plan_import=plan_import,
        sections=sections,
        form=form,
        old_sections=old_sections,
        old_paragraphs=old_paragraphs,
        paragraph_count=sum(len(s["paragraphs"]) for s in sections),
    ), status


# Editing -----------------------------------------------------------------------------------


@bp.get("/<slug>/v<int:number>/edit")
@require(can_manage_plans)
def edit_version(slug: str, number: int):
    version = _editable_version(slug, number)
    tree = load_tree(db.session, version)
    return render_template(
        "plans/edit_version.html",
        version=version,
        plan=version.plan,
        tree=tree,
        form=NewSectionForm(),
    )


@bp.post("/<slug>/v<int:number>/edit/sections")
@require(can_manage_plans)
def add_section(slug: str, number: int):
    version = _editable_version(slug, number)
    form = NewSectionForm()
    if not form.validate_on_submit():
        flash(_("A section needs a title."), "danger")
        return _to_version(version)
    parent = _section(version, form.parent.data) if form.parent.data else None
    try:
        section = operations.add_section(
            db.session,
            version,
            parent=parent,
            number=form.number.data or "",
            title=form.title.data,
            policy_area=PolicyArea(form.policy_area.data) if form.policy_area.data else None,
            actor=current_user,
        )
    except PlanError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return _to_version(version)
    db.session.commit()
    flash(_("Section added."), "success")
    return _to_section_editor(version, section)


@bp.route("/<slug>/v<int:number>/edit/s/<key>", methods=["GET", "POST"])
@require(can_manage_plans)
def edit_section(slug: str, number: int, key: str):
    version = _editable_version(slug, number)
    section = _section(version, key)
    form = SectionForm(obj=section)
    if request.method == "GET":
        form.policy_area.data = section.policy_area.value if section.policy_area else ""
        form.lock_version.data = section.lock_version
    status = 200
    if _submitted(form):
        try:
            operations.update_section(
                db.session,
                section,
                number=form.number.data or "",
                title=form.title.data,
                policy_area=PolicyArea(form.policy_area.data) if form.policy_area.data else None,
                seen_lock=form.lock_version.data,
                actor=current_user,
            )
        except PlanError as error:
            db.session.rollback()
            section = db.session.get(Section, section.id)
            if section is None:
                return _gone(version)
            _form_error(form, error)
            status = 409 if isinstance(error, operations.ConflictError) else 422
            form.lock_version.data = section.lock_version  # saving again overwrites, knowingly
        else:
            db.session.commit()
            flash(_("Section saved."), "success")
            return _to_section_editor(version, section)
    elif request.method == "POST":
        status = 400
    tree = load_tree(db.session, version)
    node = tree.nodes[section.id]
    return render_template(
        "plans/edit_section.html",
        version=version,
        plan=version.plan,
        node=node,
        tree=tree,
        form=form,
        new_paragraph=NewParagraphForm(),
        new_section=NewSectionForm(),
        move_form=_move_form(tree, node),
        hint=str(ALLOWED_HTML_HINT),  # a lazy string counts as markup: escape it
    ), status


def _move_form(tree, node) -> MoveToSectionForm:
    form = MoveToSectionForm()
    form.section.choices = [
        (
            other.section.key,
            f"{'· ' * (other.depth - 1)}{other.section.number} {other.section.title}",
        )
        for other in tree.walk()
    ]
    form.section.data = node.section.key
    return form


@bp.post("/<slug>/v<int:number>/edit/s/<key>/action")
@require(can_manage_plans)
def section_action(slug: str, number: int, key: str):
    version = _editable_version(slug, number)
    section = _section(version, key)
    action = request.form.get("action", "")
    if action == "delete" and (
        page := ask_first(
            title=_("Delete the section %(title)s?", title=f"{section.number} {section.title}"),
            consequence=_("The section is removed from this draft version."),
            confirm_label=_("Delete the section"),
            cancel_url=_to_section_editor(version, section).location,
        )
    ):
        return page
    try:
        if action in ("up", "down"):
            operations.move_section(
                db.session, section, offset=-1 if action == "up" else 1, actor=current_user
            )
        elif action == "delete":
            operations.delete_section(db.session, section, actor=current_user)
        else:
            abort(400)
    except PlanError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return _to_section_editor(version, section)
    db.session.commit()
    if action == "delete":
        flash(_("Section deleted."), "success")
        return _to_version(version)
    return _to_version(version, f"s-{section.key}")


@bp.post("/<slug>/v<int:number>/edit/s/<key>/paragraphs")
@require(can_manage_plans)
def add_paragraph(slug: str, number: int, key: str):
    version = _editable_version(slug, number)
    section = _section(version, key)
    form = NewParagraphForm()
    if not form.validate_on_submit():
        flash(_("Write the text of the new paragraph."), "danger")
        return _to_section_editor(version, section)
    after = _paragraph(version, form.after.data) if form.after.data else None
    if after is not None and after.section_id != section.id:
        abort(400)
    try:
        paragraph = operations.add_paragraph(
            db.session, section, html=form.html.data, after=after, actor=current_user
        )
    except PlanError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return _to_section_editor(version, section)
    db.session.commit()
    flash(_("Paragraph added."), "success")
    return _to_section_editor(version, section, f"p-{paragraph.key}")


@bp.route("/<slug>/v<int:number>/edit/p/<key>", methods=["GET", "POST"])
@require(can_manage_plans)
def edit_paragraph(slug: str, number: int, key: str):
    return _paragraph_form(slug, number, key, split=False)


@bp.route("/<slug>/v<int:number>/edit/p/<key>/split", methods=["GET", "POST"])
@require(can_manage_plans)
def split_paragraph(slug: str, number: int, key: str):
    return _paragraph_form(slug, number, key, split=True)


def _paragraph_form(slug: str, number: int, key: str, *, split: bool):
    """Editing a paragraph's text, or splitting it: on a conflict, the editor gets their text
    back beside the current one, and saving again (knowingly) replaces it."""
    version = _editable_version(slug, number)
    paragraph = _paragraph(version, key)
    form = (SplitForm if split else ParagraphForm)(obj=paragraph)
    if request.method == "GET":
        form.lock_version.data = paragraph.lock_version
    conflict = None
    status = 200
    if _submitted(form):
        try:
            if split:
                operations.split_paragraph(
                    db.session,
                    paragraph,
                    parts=operations.SPLIT_MARK.split(form.html.data),
                    seen_lock=form.lock_version.data,
                    actor=current_user,
                )
            else:
                operations.update_paragraph(
                    db.session,
                    paragraph,
                    html=form.html.data,
                    seen_lock=form.lock_version.data,
                    actor=current_user,
                )
        except operations.ConflictError as error:
            db.session.rollback()
            conflict = paragraph = db.session.get(Paragraph, paragraph.id)
            if conflict is None:
                return _gone(version)
            flash(str(error.message), "danger")
            form.lock_version.data = conflict.lock_version
            status = 409
        except PlanError as error:
            db.session.rollback()
            _form_error(form, error)
            status = 422
        else:
            db.session.commit()
            flash(_("Paragraph split.") if split else _("Paragraph saved."), "success")
            return _to_section_editor(version, paragraph.section, f"p-{paragraph.key}")
    elif request.method == "POST":
        status = 400
    return _paragraph_page(version, paragraph, form, status, conflict=conflict, split=split)


def _paragraph_page(version, paragraph, form, status, *, conflict=None, split=False):
    return render_template(
        "plans/edit_paragraph.html",
        version=version,
        plan=version.plan,
        paragraph=paragraph,
        form=form,
        conflict=conflict,
        hint=str(ALLOWED_HTML_HINT),  # a lazy string counts as markup: escape it
        split=split,
    ), status


@bp.post("/<slug>/v<int:number>/edit/p/<key>/action")
@require(can_manage_plans)
def paragraph_action(slug: str, number: int, key: str):
    version = _editable_version(slug, number)
    paragraph = _paragraph(version, key)
    section = paragraph.section
    action = request.form.get("action", "")
    anchor = f"p-{paragraph.key}"
    if action == "delete" and (
        page := ask_first(
            title=_("Delete this paragraph?"),
            details=paragraph.text[:300],
            consequence=_(
                "The paragraph and its text are removed from this draft version; to have it "
                "back you would write it again."
            ),
            confirm_label=_("Delete the paragraph"),
            cancel_url=_to_section_editor(version, section, anchor).location,
        )
    ):
        return page
    try:
        if action in ("up", "down"):
            operations.move_paragraph(
                db.session, paragraph, offset=-1 if action == "up" else 1, actor=current_user
            )
        elif action == "move":
            target = _section(version, request.form.get("section", ""))
            operations.move_paragraph(db.session, paragraph, to_section=target, actor=current_user)
        elif action == "merge":
            operations.merge_with_next(
                db.session,
                paragraph,
                seen_lock=_lock(request.form.get("lock_version")),
                next_key=request.form.get("next"),
                next_lock=_lock(request.form.get("next_lock")),
                actor=current_user,
            )
        elif action == "delete":
            operations.delete_paragraph(db.session, paragraph, actor=current_user)
            anchor = None
        else:
            abort(400)
    except PlanError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return _to_section_editor(version, section, anchor)
    db.session.commit()
    messages = {
        "delete": _("Paragraph deleted."),
        "merge": _("Paragraph merged with the next one."),
        "move": _("Paragraph moved."),
    }
    if action in messages:
        flash(messages[action], "success")
    return _to_section_editor(version, section, anchor)
