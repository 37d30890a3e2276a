"""The plan: a frozen consulted version and its successor draft (the response version), in which
about 10 % of the paragraphs are changed through the editing operations, so that lineage rows
are exactly those an editor would leave."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from unittest import mock

from sqlalchemy import select

from app.accounts.models import User
from app.plans import operations as plans
from app.plans import text as plan_text
from app.plans.models import Paragraph, PolicyArea, Section
from app.plans.text import text_to_html
from bench.dataset import words


class _SeededSecrets:
    """Stands in for ``secrets`` where the plans code draws its keys, so that the same seed
    gives the same keys (the application's keys are random by design)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def token_hex(self, nbytes: int) -> str:
        return self._rng.randbytes(nbytes).hex()


@contextlib.contextmanager
def seeded_keys(rng: random.Random):
    with mock.patch.object(plan_text, "secrets", _SeededSecrets(rng)):
        yield


def _paragraph_counts(rng, sections: int, total: int) -> list[int]:
    counts = [1] * sections
    for _ in range(total - sections):
        counts[rng.randrange(sections)] += 1
    return counts


def _specs(rng, scale) -> list[plans.SectionSpec]:
    sections = scale.top_sections * (1 + scale.subsections)
    counts = iter(_paragraph_counts(rng, sections, scale.paragraphs))
    areas = list(PolicyArea)
    specs = []
    for chapter in range(1, scale.top_sections + 1):
        topic = words.TOPICS[(chapter - 1) % len(words.TOPICS)]
        numbered = [(1, str(chapter), f"{topic}: indirizzi generali")]
        numbered += [
            (2, f"{chapter}.{sub}", f"{topic}: {rng.choice(words.OBJECTS)}")
            for sub in range(1, scale.subsections + 1)
        ]
        for level, number, title in numbered:
            paragraphs = []
            for _ in range(next(counts)):
                text = words.paragraph(rng)
                paragraphs.append(plans.ParagraphSpec(text_to_html(text), text))
            specs.append(
                plans.SectionSpec(
                    level,
                    number,
                    title[:1].upper() + title[1:],
                    policy_area=areas[chapter % len(areas)] if level == 1 else None,
                    paragraphs=paragraphs,
                )
            )
    return specs


def _halves(text: str) -> list[str]:
    sentences = text.split(". ")
    if len(sentences) < 2:
        middle = len(text.split(" ")) // 2 or 1
        parts = text.split(" ")
        return [" ".join(parts[:middle]), " ".join(parts[middle:])]
    middle = len(sentences) // 2
    return [". ".join(sentences[:middle]) + ".", ". ".join(sentences[middle:])]


def _respond(ctx, rng, version, editor) -> Counter:
    """Edit, split, merge, add and delete about ``scale.changed`` of the paragraphs."""
    session = ctx.session
    paragraphs = list(
        session.scalars(
            select(Paragraph)
            .where(Paragraph.version_id == version.id)
            .order_by(Paragraph.section_id, Paragraph.position)
        )
    )
    changes = round(len(paragraphs) * ctx.scale.changed)
    plan = ["edit"] * (changes - 4 * (changes // 20)) + (
        ["split", "merge", "add", "delete"] * (changes // 20)
    )
    rng.shuffle(plan)
    order = list(range(len(paragraphs)))
    rng.shuffle(order)
    used: set[int] = set()
    done: Counter = Counter()
    for operation in plan:
        index = next((i for i in order if i not in used), None)
        if index is None:
            break
        paragraph = paragraphs[index]
        if operation == "merge":
            following = index + 1
            if (
                following >= len(paragraphs)
                or following in used
                or paragraphs[following].section_id != paragraph.section_id
            ):
                operation = "edit"
            else:
                used.add(following)
                plans.merge_with_next(
                    session,
                    paragraph,
                    seen_lock=paragraph.lock_version,
                    next_key=paragraphs[following].key,
                    next_lock=paragraphs[following].lock_version,
                    actor=editor,
                )
        if operation == "edit":
            plans.update_paragraph(
                session,
                paragraph,
                html=text_to_html(words.edit(rng, paragraph.text)),
                seen_lock=paragraph.lock_version,
                actor=editor,
            )
        elif operation == "split":
            plans.split_paragraph(
                session,
                paragraph,
                parts=[text_to_html(part) for part in _halves(paragraph.text)],
                seen_lock=paragraph.lock_version,
                actor=editor,
            )
        elif operation == "add":
            plans.add_paragraph(
                session,
                paragraph.section,
                html=text_to_html(words.paragraph(rng)),
                after=paragraph,
                actor=editor,
            )
        elif operation == "delete":
            plans.delete_paragraph(session, paragraph, actor=editor)
        used.add(index)
        done[operation] += 1
    return done


def seed(ctx) -> str:
    rng, session = ctx.rng_for("plans"), ctx.session
    editor = session.get(User, ctx.shared["staff"]["editor@bench.example"])
    with seeded_keys(rng):
        plan = plans.create_plan(
            session,
            title="Piano territoriale metropolitano",
            slug="ptm",
            owner="Città metropolitana di Milano",
            description="Il piano che orienta il governo del territorio metropolitano.",
            actor=editor,
        )
        consulted = plans.build_version(
            session,
            plan,
            label="Documento di piano per la consultazione",
            predecessor=None,
            specs=_specs(rng, ctx.scale),
            actor=editor,
        )
        plans.freeze_version(session, consulted, actor=editor)
        response = plans.create_successor(
            session, consulted, label="Documento di piano controdedotto", actor=editor
        )
        done = _respond(ctx, rng, response, editor)
    first_section = session.scalar(
        select(Section.key)
        .where(Section.version_id == consulted.id, Section.parent_id.is_(None))
        .order_by(Section.position)
        .limit(1)
    )
    ctx.shared.update(plan=plan, consulted=consulted, response=response)
    ctx.manifest.update(
        plan_slug=plan.slug,
        consulted_number=consulted.number,
        response_number=response.number,
        reading_section_key=first_section,
        response_changes=dict(done),
    )
    return (
        f"{ctx.scale.top_sections * (1 + ctx.scale.subsections)} sections, "
        f"{ctx.scale.paragraphs} paragraphs; response: "
        + ", ".join(f"{n} {op}" for op, n in sorted(done.items()))
    )
