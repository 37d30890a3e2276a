"""Choosing a passage without a mouse: the paragraph's form takes the quoted words, checked
against the paragraph's text."""

from __future__ import annotations

import re

from app.observations.models import Target
from tests.observations.test_submit import _observations, _post_new


def test_typed_words_make_the_observation_about_that_passage(db, scene):
    paragraph = scene.paragraph(db)
    words = " ".join(paragraph.text.split()[1:3])
    page = scene.client.get(
        f"/rounds/{scene.round.id}/observations/new", query_string={"paragraph": paragraph.key}
    ).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="quote"', page)
    typed = "  " + words.replace(" ", "   ") + " "  # spacing as typed does not matter
    response, _, _ = _post_new(
        scene.client, scene.round.id, data={"quote": typed}, paragraph=paragraph.key
    )
    assert response.status_code == 302
    [observation] = _observations(db)
    assert observation.target is Target.PASSAGE
    assert observation.quote_text == words
    assert paragraph.text[observation.quote_start : observation.quote_end] == words


def test_words_not_in_the_paragraph_are_refused_on_the_field(db, scene):
    paragraph = scene.paragraph(db)
    response, _, _ = _post_new(
        scene.client,
        scene.round.id,
        data={"quote": "parole che non ci sono"},
        paragraph=paragraph.key,
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="quote-error"' in page and "non sono nel paragrafo" in page
    assert "Più trasporto pubblico" in page  # what was typed is still there
    assert _observations(db) == []


def test_an_empty_quote_keeps_the_whole_paragraph(db, scene):
    paragraph = scene.paragraph(db)
    _post_new(scene.client, scene.round.id, data={"quote": ""}, paragraph=paragraph.key)
    [observation] = _observations(db)
    assert observation.target is Target.PARAGRAPH and observation.quote_text is None
