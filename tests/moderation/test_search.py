"""Full-text search, the same on SQLite (FTS5) and PostgreSQL (tsvector, italian)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.moderation import search
from app.moderation.models import AttachmentText, SearchDocument, TextStatus
from app.moderation.operations import reindex
from app.observations.models import Observation
from tests.moderation.documents import docx_with_text, odt_with_text, pdf_with_text
from tests.observations.test_files import MINIMAL_PDF


@pytest.fixture
def letters(make_round, make_comune, make_referent, make_observation):
    """Observations by title; ``found(query)`` gives the titles a search finds."""
    round_ = make_round()
    referent = make_referent(make_comune())

    def make(title, body="<p>Testo</p>", files=()):
        return make_observation(round_, referent, title=title, body_html=body, files=files)

    return round_, make


def _found(db, words) -> set[str]:
    ids = search.matching_ids(db.session, words)
    return set(db.session.scalars(select(Observation.title).where(Observation.id.in_(ids))))


def _search(db, query) -> set[str]:
    return _found(db, search.terms(query))


def test_fold():
    assert search.fold("Mobilità PERCHÉ Città") == "mobilita perche citta"


def test_accents_and_case_do_not_matter(db, letters):
    _round, make = letters
    make("Mobilità sostenibile")
    make("La mobilita dolce")
    make("Altro", body="<p>MOBILITÀ delle merci</p>")
    make("Verde urbano")
    expected = {"Mobilità sostenibile", "La mobilita dolce", "Altro"}
    assert _search(db, "mobilità") == expected
    assert _search(db, "MOBILITA") == expected
    assert _search(db, "mobilità verde") == set()  # every word must be there
    assert _search(db, "Verde urbano") == {"Verde urbano"}


def test_the_italian_stemmer_on_postgresql(db, letters):
    _round, make = letters
    make("Piste ciclabili nuove")
    make("Una pista ciclabile")
    found = _search(db, "ciclabili")
    if db.engine.dialect.name == "postgresql":
        assert found == {"Piste ciclabili nuove", "Una pista ciclabile"}
    else:  # FTS5 matches whole words
        assert found == {"Piste ciclabili nuove"}


HOSTILE = [
    'mobilità"',
    '"mobilità',
    "mobilità*",
    "NEAR(mobilità verde)",
    "mobilità AND NOT verde",
    "-mobilità",
    "((mobilità",
    "mobilità)",
    "mobilità OR 1=1",
    "mobilità'; DROP TABLE observations; --",
    "mobilità:*",
    "mobilità & | ! <-> verde",
    "title:mobilità",
    "mobilità ^ {verde}",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_operators_are_only_words(db, letters, query):
    _round, make = letters
    documents = {"Mobilità sostenibile": "verde e mobilità", "Mobilità": "solo"}
    for title, body in documents.items():
        make(title, body=f"<p>{body}</p>")
    words = search.terms(query)
    expected = {
        title
        for title, body in documents.items()
        if set(words) <= set(search.fold(f"{title} {body} testo").split())
    }
    found = _found(db, words)
    if db.engine.dialect.name == "postgresql":
        # the Italian stop words (e, or, and, not…) are dropped there, so it may find more
        assert expected <= found
    else:
        assert found == expected
    assert set(db.session.scalars(select(Observation.title))) == set(documents)  # nothing lost


@pytest.mark.parametrize(
    "query", ["x" * (search.QUERY_MAX + 1), "mobilità " * 1200, '"*()-', " ".join("abcdefghijklm")]
)
def test_what_cannot_be_searched_is_refused_with_a_message(query):
    with pytest.raises(search.SearchError) as refused:
        search.terms(query)
    assert str(refused.value.message)


def test_an_empty_search_is_no_search():
    assert search.terms("") == [] and search.terms(None) == []


def test_attachment_text_is_read_once_at_registration_and_searched(db, letters):
    _round, make = letters
    pdf = make("Con PDF", files=[("lettera.pdf", pdf_with_text("Trasporto notturno a Pioltello"))])
    make("Con DOCX", files=[("nota.docx", docx_with_text("Capolinea", "Città di Rho"))])
    make("Con ODT", files=[("nota.odt", odt_with_text("Parcheggio di interscambio"))])
    assert _search(db, "pioltello notturno") == {"Con PDF"}
    assert _search(db, "citta rho") == {"Con DOCX"}
    assert _search(db, "interscambio") == {"Con ODT"}
    [row] = db.session.scalars(
        select(AttachmentText).where(AttachmentText.attachment_id == pdf.attachments[0].id)
    ).all()
    assert row.status is TextStatus.EXTRACTED and "Pioltello" in row.text
    extracted_at, attachment_id = row.extracted_at, row.attachment_id
    counts = reindex(db.session, commit=db.session.commit)
    assert counts == {"observations": 3, "attachments": 0}  # nothing read twice
    assert db.session.get(AttachmentText, attachment_id).extracted_at == extracted_at
    assert _search(db, "pioltello") == {"Con PDF"}


def test_a_file_without_readable_text_never_refuses_the_submission(db, letters):
    _round, make = letters
    observation = make("PDF vuoto", files=[("vuoto.pdf", MINIMAL_PDF)])
    [row] = db.session.scalars(select(AttachmentText)).all()
    assert row.status in (TextStatus.EMPTY, TextStatus.FAILED) and row.text == ""
    assert observation.protocol_code
    assert _search(db, "vuoto") == {"PDF vuoto"}


def test_broken_files_are_failed_not_errors():
    assert search.extract_text(search.PDF, b"%PDF-1.4 garbage")[0] is TextStatus.FAILED
    assert search.extract_text(search.DOCX, b"PK\x03\x04 not a zip")[0] is TextStatus.FAILED


def test_reindex_writes_missing_documents(db, letters):
    _round, make = letters
    observation = make("Ricostruito", body="<p>Linea metropolitana</p>")
    db.session.delete(db.session.get(SearchDocument, observation.id))
    db.session.commit()
    assert _search(db, "metropolitana") == set()
    reindex(db.session, commit=db.session.commit)
    assert _search(db, "metropolitana") == {"Ricostruito"}
