"""The demo data: every domain's part, loaded by the orchestrator above them, once."""

from __future__ import annotations

from app.demo import load_demo


def test_the_demo_loads_every_part_once(db):
    created = load_demo(db.session)
    db.session.commit()
    assert "round PSM2019" in created
    assert any(item.startswith("observation PSM2019") for item in created), created
    assert load_demo(db.session) == []
