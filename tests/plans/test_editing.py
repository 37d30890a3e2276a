"""Editing a draft: positions stay dense, and no save overwrites another one unseen."""

from __future__ import annotations

from sqlalchemy import select

from app.plans import operations
from app.plans.models import Paragraph
from app.plans.tree import load_tree


def _positions(db, section) -> list[int]:
    return list(
        db.session.scalars(
            select(Paragraph.position)
            .where(Paragraph.section_id == section.id)
            .order_by(Paragraph.position)
        )
    )


def test_a_paragraph_moved_to_another_section_goes_last_without_a_gap(db, make_version):
    version = make_version()
    tree = load_tree(db.session, version)
    first, second = tree.roots[0], tree.roots[1]
    moved = first.paragraphs[0]
    operations.move_paragraph(db.session, moved, to_section=second.section)
    db.session.commit()
    assert _positions(db, second.section) == [0, 1, 2]
    assert _positions(db, first.section) == [0]
    texts = [p.text for p in load_tree(db.session, version).roots[1].paragraphs]
    assert texts[-1] == moved.text
