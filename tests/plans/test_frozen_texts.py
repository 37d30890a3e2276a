"""Frozen texts are read from the database once and then served from memory: the same tree as
the database holds, no SQL statement the second time, a draft always read afresh."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.plans import frozen
from app.plans.frozen import frozen_tree
from app.plans.models import VersionStatus
from app.plans.operations import update_paragraph
from app.plans.tree import load_tree
from tests.fixtures.plans import generated_text


@contextmanager
def statements(engine):
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _outline(tree) -> list:
    return [
        (
            node.depth,
            node.section.key,
            node.section.number,
            node.section.title,
            [(p.key, p.html, p.text) for p in node.paragraphs],
            [child.section.key for child in node.children],
        )
        for node in tree.walk()
    ]


def test_a_frozen_tree_is_the_text_the_database_holds(db, make_version):
    version = make_version(text=generated_text(9), status=VersionStatus.FROZEN)

    cached = frozen_tree(db.session, version)

    assert _outline(cached) == _outline(load_tree(db.session, version))
    assert cached.paragraph_count == 27
    assert cached.node_by_key(cached.roots[1].section.key) is cached.roots[1]


def test_the_second_read_runs_no_sql_and_each_request_gets_its_own_version(db, make_version):
    version = make_version(text=generated_text(6), status=VersionStatus.FROZEN)
    first = frozen_tree(db.session, version)
    db.session.remove()

    version = db.session.get(type(version), version.id)
    with statements(db.engine) as seen:
        again = frozen_tree(db.session, version)

    assert seen == []
    assert _outline(again) == _outline(first)
    assert again.version is version  # not the object of the session that read the text


def test_a_draft_is_read_afresh_every_time(db, make_version):
    draft = make_version(text=generated_text(3))
    before = frozen_tree(db.session, draft)
    paragraph = before.roots[0].paragraphs[0]
    update_paragraph(
        db.session, paragraph, html="<p>Testo riscritto.</p>", seen_lock=paragraph.lock_version
    )
    db.session.commit()

    after = frozen_tree(db.session, draft)

    assert after.roots[0].paragraphs[0].text == "Testo riscritto."
    assert len(frozen._cache()) == 0


@pytest.mark.parametrize("capacity", [1, 2])
def test_only_the_most_recently_read_versions_stay_in_memory(db, make_version, config, capacity):
    config["FROZEN_TEXT_CACHE_VERSIONS"] = capacity
    versions = [make_version(status=VersionStatus.FROZEN) for _ in range(3)]
    for version in versions:
        frozen_tree(db.session, version)

    assert len(frozen._cache()) == capacity
    with statements(db.engine) as seen:
        frozen_tree(db.session, versions[-1])
    assert seen == []
    with statements(db.engine) as seen:
        frozen_tree(db.session, versions[0])
    assert len(seen) == 2  # sections, then paragraphs
