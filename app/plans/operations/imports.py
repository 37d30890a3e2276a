"""Importing a text: the parsed file waits in a ``PlanImport`` between the preview and the
confirmation, which builds the version with the matches the editor confirmed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.plans import importers, matching
from app.plans.models import Paragraph, Plan, PlanError, PlanImport, PlanVersion
from app.plans.operations.versions import (
    ParagraphSpec,
    SectionSpec,
    build_version,
    check_can_continue,
)
from app.plans.tree import load_tree

#: Imports left unconfirmed longer than this are removed when the next one starts.
IMPORT_TTL = timedelta(days=2)


def start_import(
    session: Session,
    plan: Plan,
    *,
    data: bytes,
    filename: str,
    label: str,
    predecessor: PlanVersion | None,
    max_bytes: int,
    actor,
) -> PlanImport:
    """Parse an upload and keep it, with the proposed matches, for the editor's preview."""
    if len(data) > max_bytes:
        raise importers.ImportError_(
            _l(
                "The file is larger than %(mb)d MB: nothing was imported.",
                mb=max_bytes // (1024 * 1024),
            )
        )
    if predecessor is not None:
        check_can_continue(session, predecessor)
    file_format, sections = importers.parse(data)
    if predecessor is not None:
        matching.propose(sections, load_tree(session, predecessor))
    for stale in session.scalars(
        select(PlanImport).where(PlanImport.created_at < utcnow() - IMPORT_TTL)
    ):
        session.delete(stale)
    plan_import = PlanImport(
        plan=plan,
        predecessor=predecessor,
        created_by_id=actor.id,
        filename=(filename or "")[:255],
        file_format=file_format,
        label=label.strip(),
        structure={"sections": sections},
    )
    session.add(plan_import)
    session.flush()
    record(
        session,
        "plan.import_started",
        actor=actor,
        obj=plan,
        import_id=plan_import.id,
        format=file_format,
    )
    return plan_import


def confirm_import(
    session: Session,
    plan_import: PlanImport,
    *,
    corrections: dict[str, str] | None = None,
    actor=None,
) -> PlanVersion:
    """Save the previewed structure as a new draft version.

    ``corrections`` maps ``s-<i>`` (section) and ``p-<i>-<j>`` (paragraph) to the predecessor
    keys chosen by the editor (comma-separated for a merge; empty for "new").
    """
    predecessor = plan_import.predecessor
    if predecessor is not None:
        check_can_continue(session, predecessor)
    sections = plan_import.structure["sections"]
    specs = []
    if predecessor is not None:
        tree = load_tree(session, predecessor)
        old_sections = {node.section.key: node.section for node in tree.walk()}
        old_paragraphs = {p.key: p for _node, p in tree.paragraphs()}
    corrections = corrections or {}
    for i, item in enumerate(sections):
        old_section = None
        paragraphs = []
        if predecessor is not None:
            key = corrections.get(f"s-{i}", item.get("match") or "")
            old_section = _lookup_keys(key, old_sections, single=True, what=item["title"])
            old_section = old_section[0] if old_section else None
        for j, para in enumerate(item["paragraphs"]):
            sources: list[Paragraph] = []
            if predecessor is not None:
                key = corrections.get(f"p-{i}-{j}", ",".join(para.get("match") or []))
                sources = _lookup_keys(key, old_paragraphs, single=False, what=para["text"])
            paragraphs.append(ParagraphSpec(para["html"], para["text"], sources))
        specs.append(
            SectionSpec(item["level"], item["number"], item["title"], None, old_section, paragraphs)
        )
    if predecessor is not None:
        for spec in specs:
            if spec.predecessor is not None and spec.predecessor.policy_area is not None:
                spec.policy_area = spec.predecessor.policy_area
    version = build_version(
        session,
        plan_import.plan,
        label=plan_import.label,
        predecessor=predecessor,
        specs=specs,
        actor=actor,
        action="plan.version_imported",
        format=plan_import.file_format,
        filename=plan_import.filename,
    )
    session.delete(plan_import)
    session.flush()
    return version


def _lookup_keys(raw: str, known: dict, *, single: bool, what: str) -> list:
    keys = [k.strip().removeprefix("p-").removeprefix("s-") for k in raw.split(",") if k.strip()]
    if single and len(keys) > 1:
        raise PlanError(_l("A section continues at most one section (%(what)s).", what=what[:60]))
    missing = [k for k in keys if k not in known]
    if missing:
        raise PlanError(
            _l(
                "There is no “%(key)s” in the previous version (for “%(what)s”).",
                key=missing[0],
                what=what[:60],
            )
        )
    return [known[k] for k in dict.fromkeys(keys)]


def cancel_import(session: Session, plan_import: PlanImport, *, actor=None) -> None:
    record(
        session,
        "plan.import_cancelled",
        actor=actor,
        obj=plan_import.plan,
        import_id=plan_import.id,
    )
    session.delete(plan_import)
    session.flush()
