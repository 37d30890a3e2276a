"""Plans benchmark for hostile or unusual inputs: prints numbers, asserts nothing.

The cases a review found slow: the word diff of a very long paragraph (the diff page is
public), proposing matches for an import whose sections hold thousands of lightly edited
paragraphs, and small DOCX/ODT files that expand (a space repeated 300 million times, a cell
spanning two million columns). Each is timed once, with the peak memory of the process.

    .venv/bin/python bench/plans_inputs.py
"""

from __future__ import annotations

import io
import random
import resource
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = [
    "comune",
    "zona",
    "piano",
    "metropolitana",
    "servizi",
    "progetto",
    "rete",
    "sviluppo",
    "territorio",
    "mobilità",
]


def timed(label: str, function) -> None:
    start = time.perf_counter()
    outcome = function()
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{label:<58} {elapsed:7.2f} s   peak {peak:5d} MB   {outcome}")


def word_diffs() -> None:
    from app.plans.text import word_diff

    rnd = random.Random(1)
    for words in (2_000, 8_000, 14_000):
        old = " ".join(rnd.choice(WORDS) for _ in range(words))
        edited = "Premessa: " + old.replace("piano", "programma", 3) + " fine"
        rewritten = " ".join(rnd.choice(WORDS) for _ in range(words))

        def diff(new, old=old):
            html, _changed = word_diff(old, new)
            return f"{html.count('<ins>')} insertions"

        timed(f"word diff, {words:,} words, a few words edited", lambda n=edited: diff(n))
        timed(f"word diff, {words:,} words, rewritten", lambda n=rewritten: diff(n))


def matching() -> None:
    from app.plans import matching as plan_matching
    from app.plans.tree import Node, VersionTree

    rnd = random.Random(2)
    vocabulary = ["".join(rnd.choices("aeioulmnrst", k=rnd.randint(3, 9))) for _ in range(600)]
    for count in (1_000, 2_000, 5_000):
        texts = [" ".join(rnd.choices(vocabulary, k=40)) for _ in range(count)]
        section = SimpleNamespace(id=1, key="s1", number="1", title="Unica")
        paragraphs = [
            SimpleNamespace(key=f"k{i}", text=t, section_id=1, position=i)
            for i, t in enumerate(texts)
        ]
        node = Node(section, 1, paragraphs=paragraphs)
        tree = VersionTree(None, [node], {1: node})
        new = [
            {
                "level": 1,
                "number": "1",
                "title": "Unica",
                "paragraphs": [{"html": "", "text": "Inoltre " + t} for t in texts],
            }
        ]

        def propose(new=new, tree=tree, count=count):
            plan_matching.propose(new, tree)
            right = sum(p["match"] == [f"k{i}"] for i, p in enumerate(new[0]["paragraphs"]))
            return f"{right:,} of {count:,} matched right"

        timed(f"import matching, {count:,} edited paragraphs in one section", propose)


def replace_in_part(data: bytes, part: str, old: bytes, new: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            archive.writestr(
                info, content.replace(old, new, 1) if info.filename == part else content
            )
    return buffer.getvalue()


def expanding_files() -> None:
    import docx
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    from app import create_app
    from app.plans import importers
    from config import TestConfig

    odt = OpenDocumentText()
    odt.text.addElement(H(outlinelevel=1, text="1 Titolo"))
    odt.text.addElement(P(text="Semplificare procedure"))
    buffer = io.BytesIO()
    odt.write(buffer)
    spaces = replace_in_part(
        buffer.getvalue(),
        "content.xml",
        b"Semplificare procedure",
        b'Semplificare<text:s text:c="300000000"/>procedure',
    )

    document = docx.Document()
    document.add_heading("1 Titolo", level=1)
    table = document.add_table(rows=1, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "Intestazione"
    buffer = io.BytesIO()
    document.save(buffer)
    span = replace_in_part(
        buffer.getvalue(),
        "word/document.xml",
        b'<w:gridSpan w:val="3"/>',
        b'<w:gridSpan w:val="2000000"/>',
    )

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    for label, data in (
        (f"ODT of {len(spaces) // 1024} KiB, a space repeated 300,000,000 times", spaces),
        (f"DOCX of {len(span) // 1024} KiB, a cell spanning 2,000,000 columns", span),
    ):

        def parse(data=data):
            with app.test_request_context():
                try:
                    _format, sections = importers.parse(data)
                except importers.ImportError_ as error:
                    return f"refused: {error}"
            return f"{len(sections[0]['paragraphs'][0]['html']):,} characters of HTML"

        timed(label, parse)


if __name__ == "__main__":
    word_diffs()
    matching()
    expanding_files()
