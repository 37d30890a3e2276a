"""The demo data: every domain's part, loaded by the orchestrator above them, once."""

from __future__ import annotations

from app.demo import load_demo


def test_the_demo_loads_every_part_once(db):
    created = load_demo(db.session)
    db.session.commit()
    assert "round PSM2019" in created
    assert any(item.startswith("observation PSM2019") for item in created), created
    assert load_demo(db.session) == []


def test_the_demo_revision_has_its_changes_stored(db):
    from sqlalchemy import select

    from app.plans.changes import TextChange, TextChangeKind

    load_demo(db.session)
    db.session.commit()
    kinds = set(db.session.scalars(select(TextChange.kind).where(TextChange.ended_at.is_(None))))
    assert {
        TextChangeKind.EDITED,
        TextChangeKind.SPLIT,
        TextChangeKind.MERGED,
        TextChangeKind.ADDED,
        TextChangeKind.REMOVED,
    } <= kinds
