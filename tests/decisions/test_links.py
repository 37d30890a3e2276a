"""Links to the text: accepted outcomes link stored changes of the round's response version
(optionally narrowed to words), already covered a paragraph of the consulted version; links
across plans, versions and rounds are refused; an edit that would orphan a link is refused;
"Perché è cambiato?"; coverage and concluding."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.decisions import coverage, operations
from app.decisions.links import DecisionLink
from app.decisions.models import Decision, DecisionError, Outcome
from app.plans import operations as plans
from app.plans.changes import LinkedChangeError, TextChange, TextChangeSpan, annotations
from app.plans.models import Paragraph
from app.plans.tree import load_tree
from app.rounds import operations as rounds
from app.rounds.models import ConclusionRefused, Round, RoundState
from tests.decisions.conftest import refusing

Draft = operations.Draft


def _paragraphs(db, version) -> list[Paragraph]:
    return [p for _n, p in load_tree(db.session, version).paragraphs()]


def _respond(db, make_successor, round_) -> tuple:
    """Give the round a response version and edit its first paragraph: one stored change."""
    round_ = db.session.get(Round, round_.id)
    response = make_successor(round_.version)
    round_.response_version_id = response.id
    db.session.commit()
    first = _paragraphs(db, response)[0]
    original = first.text
    plans.update_paragraph(
        db.session,
        first,
        html=original + " Con nuove piste ciclabili.",
        seen_lock=first.lock_version,
    )
    db.session.commit()
    [change] = db.session.scalars(
        select(TextChange).where(
            TextChange.version_id == response.id, TextChange.ended_at.is_(None)
        )
    ).all()
    return response, first, original, change


def _accept(db, s, point, change_ids=(), span_ids=(), outcome=Outcome.ACCEPTED):
    decision = operations.save(
        db.session,
        point,
        Draft(outcome, "Accolta: il testo è integrato.", None, list(change_ids), list(span_ids)),
        actor=s.editor,
    )
    db.session.commit()
    return decision


def test_accepted_must_link_a_change_of_the_response_version(db, setting, make_successor):
    s = setting(n=1)
    [point] = s.points
    decision = _accept(db, s, point)
    with refusing(DecisionError, "Link the change"):
        operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
    db.session.rollback()
    _response, _first, _original, change = _respond(db, make_successor, s.round)
    decision = db.session.get(Decision, decision.id)
    operations.save(
        db.session,
        point,
        Draft(Outcome.ACCEPTED, "Accolta.", decision.lock_version, [change.id]),
        actor=s.editor,
    )
    db.session.commit()
    decision = db.session.get(Decision, decision.id)
    operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    assert db.session.get(Decision, decision.id).published
    [link] = db.session.scalars(select(DecisionLink)).all()
    assert (link.change_id, link.span_id) == (change.id, None)


def test_a_change_of_another_version_or_round_is_refused(db, setting, make_successor, make_version):
    s = setting(n=1)
    other = setting(n=1)
    _respond(db, make_successor, s.round)
    _r, _f, _o, foreign = _respond(db, make_successor, other.round)  # another plan and round
    with refusing(DecisionError, "Only the changes of this consultation"):
        operations.save(
            db.session,
            s.points[0],
            Draft(Outcome.ACCEPTED, "x", None, [foreign.id]),
            actor=s.editor,
        )
    db.session.rollback()
    [span] = db.session.scalars(
        select(TextChangeSpan).where(TextChangeSpan.change_id == foreign.id)
    ).all()
    with refusing(DecisionError, "Only the changes of this consultation"):
        operations.save(
            db.session,
            s.points[0],
            Draft(Outcome.ACCEPTED, "x", None, [], [span.id]),
            actor=s.editor,
        )
    db.session.rollback()
    with refusing(DecisionError, "Only the changes of this consultation"):
        operations.save(
            db.session, s.points[0], Draft(Outcome.ACCEPTED, "x", None, [999_999]), actor=s.editor
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0
    assert db.session.scalar(select(func.count()).select_from(DecisionLink)) == 0


def test_a_round_without_response_version_cannot_link(db, setting, make_successor):
    s = setting(n=1)
    other = setting(n=1)
    _r, _f, _o, foreign = _respond(db, make_successor, other.round)
    with refusing(DecisionError, "no response version"):
        operations.save(
            db.session,
            s.points[0],
            Draft(Outcome.ACCEPTED, "x", None, [foreign.id]),
            actor=s.editor,
        )
    db.session.rollback()


def test_the_guard_refuses_an_edit_that_would_orphan_a_linked_change(db, setting, make_successor):
    s = setting(n=1)
    _response, first, original, change = _respond(db, make_successor, s.round)
    _accept(db, s, s.points[0], [change.id])
    first = db.session.get(Paragraph, first.id)
    with pytest.raises(LinkedChangeError) as refused:  # restoring the text ends the change
        plans.update_paragraph(db.session, first, html=original, seen_lock=first.lock_version)
    db.session.rollback()
    assert s.points[0].label in str(refused.value)
    assert db.session.get(TextChange, change.id).ended_at is None
    assert db.session.get(Paragraph, first.id).text != original
    # editing it further keeps the change (same id): allowed
    first = db.session.get(Paragraph, first.id)
    plans.update_paragraph(
        db.session,
        first,
        html=original + " Con molte piste ciclabili.",
        seen_lock=first.lock_version,
    )
    db.session.commit()
    assert db.session.get(TextChange, change.id).ended_at is None


def test_a_link_narrowed_to_words_and_the_trace_page(db, client, setting, make_successor):
    s = setting(n=1)
    response, _first, _original, change = _respond(db, make_successor, s.round)
    [span] = db.session.scalars(
        select(TextChangeSpan).where(TextChangeSpan.change_id == change.id)
    ).all()
    assert "piste ciclabili" in span.new_text
    decision = _accept(db, s, s.points[0], span_ids=[span.id])
    operations.publish(db.session, s.points[0], actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    [link] = db.session.scalars(select(DecisionLink)).all()
    assert (link.change_id, link.span_id) == (change.id, span.id)
    page = client.get(f"/decisions/trace/{s.observations[0].id}").get_data(as_text=True)
    assert f"<ins>{span.new_text}</ins>" in page
    assert f"/v{response.number}/p/" in page
    # the guard names the decision when the words are replaced
    first = _paragraphs(db, db.session.get(type(response), response.id))[0]
    with pytest.raises(LinkedChangeError):
        plans.update_paragraph(
            db.session,
            first,
            html=first.text.replace("nuove piste ciclabili", "corsie riservate"),
            seen_lock=first.lock_version,
        )
    db.session.rollback()


def test_why_did_this_change(db, setting, make_successor):
    s = setting(n=1)
    _response, _first, _original, change = _respond(db, make_successor, s.round)
    decision = _accept(db, s, s.points[0], [change.id], outcome=Outcome.PARTLY_ACCEPTED)
    assert annotations(db.session, [change.id]) == {}  # a draft motivates nothing yet
    operations.publish(db.session, s.points[0], actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    with db.session.no_autoflush:
        from flask import current_app

        with current_app.test_request_context():
            [annotation] = annotations(db.session, [change.id])[change.id]
    assert annotation.label == s.points[0].label
    assert annotation.outcome == "parzialmente accolta"
    assert annotation.url.endswith(f"/decisions/trace/{s.observations[0].id}#point-1")


def test_coverage_rules_and_concluding(db, setting, make_successor, make_user):
    from app.accounts.models import Role

    s = setting(n=1, state=RoundState.IN_REVIEW)
    round_ = db.session.get(Round, s.round.id)
    gaps = coverage.coverage(db.session, round_)
    assert gaps.undecided_total == 1 and gaps.version_problem is not None  # no response version
    response, _first, _original, change = _respond(db, make_successor, s.round)
    round_ = db.session.get(Round, s.round.id)
    gaps = coverage.coverage(db.session, round_)
    assert (gaps.undecided_total, gaps.unexplained_total) == (1, 1)
    assert "draft" in str(gaps.version_problem._args[0])
    decision = _accept(db, s, s.points[0], [change.id])
    operations.publish(db.session, s.points[0], actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    round_ = db.session.get(Round, s.round.id)
    gaps = coverage.coverage(db.session, round_)
    assert (gaps.undecided_total, gaps.unlinked_total, gaps.unexplained_total) == (0, 0, 0)
    with pytest.raises(ConclusionRefused) as refused:  # the response version is still a draft
        rounds.change_state(db.session, round_, "conclude", actor=s.moderator)
    db.session.rollback()
    assert len(refused.value.gaps) == 1
    # a second change nobody asked for: linked to no point, until marked editorial
    second = _paragraphs(db, db.session.get(type(response), response.id))[1]
    plans.update_paragraph(
        db.session, second, html=second.text + " Refuso corretto.", seen_lock=second.lock_version
    )
    db.session.commit()
    round_ = db.session.get(Round, s.round.id)
    assert coverage.coverage(db.session, round_).unexplained_total == 1
    editorial = db.session.scalars(
        select(TextChange).where(
            TextChange.version_id == response.id,
            TextChange.ended_at.is_(None),
            TextChange.id != change.id,
        )
    ).one()
    editorial.editorial = True
    editorial.editorial_note = "Refuso"
    plans.freeze_version(db.session, db.session.get(type(response), response.id))
    db.session.commit()
    round_ = db.session.get(Round, s.round.id)
    assert coverage.coverage(db.session, round_).complete
    rounds.change_state(db.session, round_, "conclude", actor=s.moderator)
    db.session.commit()
    assert db.session.get(Round, s.round.id).state is RoundState.CONCLUDED
    assert make_user(Role.ADMIN)  # (the override is tested through the page)


def test_an_accepted_decision_whose_change_ended_is_a_gap(db, setting, make_successor):
    s = setting(n=1, state=RoundState.IN_REVIEW)
    _response, first, original, change = _respond(db, make_successor, s.round)
    decision = _accept(db, s, s.points[0], [change.id])
    operations.publish(db.session, s.points[0], actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    round_ = db.session.get(Round, s.round.id)
    assert coverage.coverage(db.session, round_).unlinked_total == 0
    # (the guard keeps the change alive: ending it is refused while the link exists)
    first = db.session.get(Paragraph, first.id)
    with pytest.raises(LinkedChangeError):
        plans.update_paragraph(db.session, first, html=original, seen_lock=first.lock_version)
    db.session.rollback()


def _anchor_to_passage(db, point, paragraph, quote):
    from app.observations.models import Point
    from app.plans.anchors import Target

    point = db.session.get(Point, point.id)
    start = paragraph.text.index(quote)
    point.target = Target.PASSAGE
    point.section_id, point.paragraph_id = paragraph.section_id, paragraph.id
    point.quote_text, point.quote_start, point.quote_end = quote, start, start + len(quote)
    db.session.commit()
    return point


def test_the_point_s_anchor_is_followed_into_the_response_version(
    db, client, setting, make_successor
):
    s = setting(n=1)
    round_ = db.session.get(Round, s.round.id)
    consulted = _paragraphs(db, round_.version)
    quote = consulted[0].text.split()[0]
    point = _anchor_to_passage(db, s.points[0], consulted[0], quote)
    response, first, _original, _change = _respond(db, make_successor, s.round)
    login_page = f"/decisions/trace/{s.observations[0].id}"
    page = client.get(login_page).get_data(as_text=True)
    assert "Modificato." in page and f"<mark>{quote}</mark>" in page  # the words survive
    first = db.session.get(Paragraph, first.id)
    plans.split_paragraph(
        db.session,
        first,
        parts=[first.text, "Un paragrafo nuovo."],
        seen_lock=first.lock_version,
    )
    db.session.commit()
    page = client.get(login_page).get_data(as_text=True)
    assert "Diviso in 2 paragrafi." in page
    from tests.fixtures.factories import login

    login(client, s.editor)
    editor_page = client.get(f"/decisions/points/{point.id}/").get_data(as_text=True)
    assert "Diviso in 2 paragrafi." in editor_page and f"/v{response.number}/p/" in editor_page


def test_the_comparison_and_reading_pages_say_which_points_motivated_a_change(
    db, client, setting, make_successor
):
    from tests.fixtures.factories import login

    s = setting(n=1)
    response, _first, _original, change = _respond(db, make_successor, s.round)
    decision = _accept(db, s, s.points[0], [change.id])
    login(client, s.editor)  # the response version is a draft: staff read it
    slug = response.plan.slug
    diff = f"/plans/{slug}/diff?old={response.number - 1}&new={response.number}"
    assert s.points[0].label not in client.get(diff).get_data(as_text=True)  # a draft: no
    operations.publish(db.session, s.points[0], actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    page = client.get(diff).get_data(as_text=True)
    assert "Perché è cambiato?" in page and s.points[0].label in page and "accolta" in page
    assert f"/decisions/trace/{s.observations[0].id}#point-1" in page
    reading = client.get(f"/plans/{slug}/v{response.number}/").get_data(as_text=True)
    assert s.points[0].label in reading
