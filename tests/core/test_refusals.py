"""The one way an HTML view commits or refuses (``core.refusals.commit_or_refuse``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField

from app.accounts.operations import AccountError
from app.api.operations import TokenError
from app.core.refusals import Refusal, commit_or_refuse
from app.observations.models import ObservationError
from app.plans.importers import ImportError_
from app.plans.models import PlanError
from app.rounds.models import RoundError
from app.stakeholders.models import Zone
from app.stakeholders.operations import RegistryError

APP = Path(__file__).resolve().parents[2] / "app"


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()


def _zone_names(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Zone.name).order_by(Zone.name)))


def test_every_domain_refusal_is_a_refusal():
    for refusal in (AccountError, ImportError_, ObservationError, PlanError, RegistryError,
                    RoundError, TokenError):  # fmt: skip
        assert issubclass(refusal, Refusal), refusal


def test_the_block_is_committed_once_it_ends(app, db):
    with app.test_request_context(), commit_or_refuse() as attempt:
        db.session.add(Zone(name="Nord Milano"))
    assert attempt.done and attempt.status == 200
    db.session.remove()  # another session sees it: it was committed
    assert _zone_names(db) == ["Nord Milano"]


def test_a_refusal_rolls_everything_back_and_shows_on_its_field(app, db):
    with app.test_request_context(method="POST", data={"name": "x"}):
        form = NameForm()
        with commit_or_refuse(form) as attempt:
            db.session.add(Zone(name="Nord Milano"))
            db.session.flush()
            raise RegistryError("This name is taken.", field="name")
        assert form.name.errors == ["This name is taken."]
        assert get_flashed_messages() == []
    assert not attempt.done and attempt.status == 422
    assert isinstance(attempt.refusal, RegistryError)
    assert _zone_names(db) == []


def test_a_refusal_on_no_field_of_the_form_is_flashed(app, db):
    with app.test_request_context(method="POST"):
        with commit_or_refuse(NameForm()) as attempt:
            raise PlanError("Not now.", field="elsewhere")
        assert get_flashed_messages(with_categories=True) == [("danger", "Not now.")]
    assert not attempt.done


def test_field_puts_every_refusal_on_that_field(app, db):
    with app.test_request_context(method="POST"):
        form = NameForm()
        with commit_or_refuse(form, field="name"):
            raise TokenError("Inactive account.")
        assert form.name.errors == ["Inactive account."]


def test_show_false_leaves_the_message_to_the_view(app, db):
    with app.test_request_context(method="POST"):
        with commit_or_refuse(show=False) as attempt:
            raise RoundError("No.")
        assert get_flashed_messages() == []
    assert str(attempt.refusal.message) == "No."


def test_a_discarded_block_writes_nothing(app, db):
    with app.test_request_context(), commit_or_refuse() as attempt:
        db.session.add(Zone(name="Preview only"))
        db.session.flush()
        attempt.discard()
    assert not attempt.done and attempt.refusal is None
    assert _zone_names(db) == []


def test_other_errors_pass_through_and_nothing_is_committed(app, db):
    with app.test_request_context(), pytest.raises(KeyError), commit_or_refuse():
        db.session.add(Zone(name="Half done"))
        db.session.flush()
        raise KeyError("bug")
    db.session.rollback()  # what the request's teardown does
    assert _zone_names(db) == []


def _calls(path: Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "session"
    ]


#: Views that roll back by hand, and why: after a race on one draft, the view rolls back to
#: look at what the other request stored (``observations/routes.py``); the health check rolls
#: back a failed probe of the database.
HAND_ROLLBACKS = {"observations/routes.py": 2, "core/routes.py": 1}


def test_html_views_commit_only_through_commit_or_refuse():
    """No view module commits by itself; the API commits in ``api/views.py`` (``api_view``)."""
    modules = [*APP.glob("*/routes.py"), *APP.glob("*/routes/*.py")]
    assert len(modules) > 10
    for path in modules:
        relative = path.relative_to(APP).as_posix()
        assert _calls(path, "commit") == [], relative
        rollbacks = _calls(path, "rollback")
        assert len(rollbacks) == HAND_ROLLBACKS.get(relative, 0), (relative, rollbacks)
