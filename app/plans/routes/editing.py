"""Editing a draft version: sections and paragraphs, under optimistic locks."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.core.confirm import ask_first
from app.core.permissions import require
from app.core.refusals import commit_or_refuse, show_refusal
from app.extensions import db
from app.plans import operations
from app.plans.forms import (
    ALLOWED_HTML_HINT,
    MoveToSectionForm,
    NewParagraphForm,
    NewSectionForm,
    ParagraphForm,
    SectionForm,
    SplitForm,
)
from app.plans.models import Paragraph, PolicyArea, Section
from app.plans.permissions import can_manage_plans
from app.plans.routes.common import (
    _editable_version,
    _gone,
    _lock,
    _paragraph,
    _section,
    _submitted,
    _to_section_editor,
    _to_version,
    bp,
)
from app.plans.tree import load_tree


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
    with commit_or_refuse() as attempt:
        section = operations.add_section(
            db.session,
            version,
            parent=parent,
            number=form.number.data or "",
            title=form.title.data,
            policy_area=PolicyArea(form.policy_area.data) if form.policy_area.data else None,
            actor=current_user,
        )
    if not attempt.done:
        return _to_version(version)
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
        with commit_or_refuse(show=False) as attempt:
            operations.update_section(
                db.session,
                section,
                number=form.number.data or "",
                title=form.title.data,
                policy_area=PolicyArea(form.policy_area.data) if form.policy_area.data else None,
                seen_lock=form.lock_version.data,
                actor=current_user,
            )
        if attempt.done:
            flash(_("Section saved."), "success")
            return _to_section_editor(version, section)
        section = db.session.get(Section, section.id)
        if section is None:
            return _gone(version)
        show_refusal(form, attempt.refusal)
        status = 409 if isinstance(attempt.refusal, operations.ConflictError) else 422
        form.lock_version.data = section.lock_version  # saving again overwrites, knowingly
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
    with commit_or_refuse() as attempt:
        if action in ("up", "down"):
            operations.move_section(
                db.session, section, offset=-1 if action == "up" else 1, actor=current_user
            )
        elif action == "delete":
            operations.delete_section(db.session, section, actor=current_user)
        else:
            abort(400)
    if not attempt.done:
        return _to_section_editor(version, section)
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
    with commit_or_refuse() as attempt:
        paragraph = operations.add_paragraph(
            db.session, section, html=form.html.data, after=after, actor=current_user
        )
    if not attempt.done:
        return _to_section_editor(version, section)
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
        with commit_or_refuse(show=False) as attempt:
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
        if attempt.done:
            flash(_("Paragraph split.") if split else _("Paragraph saved."), "success")
            return _to_section_editor(version, paragraph.section, f"p-{paragraph.key}")
        if isinstance(attempt.refusal, operations.ConflictError):
            # The editor's text comes back beside the current one (or the paragraph is gone).
            conflict = paragraph = db.session.get(Paragraph, paragraph.id)
            if conflict is None:
                return _gone(version)
            show_refusal(None, attempt.refusal)
            form.lock_version.data = conflict.lock_version
            status = 409
        else:
            show_refusal(form, attempt.refusal)
            status = 422
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
    with commit_or_refuse() as attempt:
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
    if not attempt.done:
        return _to_section_editor(version, section, anchor)
    messages = {
        "delete": _("Paragraph deleted."),
        "merge": _("Paragraph merged with the next one."),
        "move": _("Paragraph moved."),
    }
    if action in messages:
        flash(messages[action], "success")
    return _to_section_editor(version, section, anchor)
