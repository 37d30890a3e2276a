"""The observations: registered, numbered 1…n in order of submission, with campaigns.

About 30 % come from campaigns: the same letter (or nearly: a greeting, a few words, a sentence
more) sent by many organisations on the same part of the text, by web form or PEC, within a
couple of days. The rest are individual, from organisations whose activity follows a long tail
(the first organisation, a large comune, is the busiest: the benchmark logs in as its
referent). Anchors: plan, section, paragraph and quoted passage. Channels: web, API and staff
intake (PEC, letter, e-mail, meeting: recorded by the moderator, with the original attached).
Some web observations carry attachments, a few are withdrawn, a few correct an earlier one.

Rows are computed with the application's recipes and bulk-inserted: the digest is
``receipts.digest`` of exactly the stored content, the verification hash comes from
``receipts.verification_code`` (so it depends on SECRET_KEY: seed and serve with the same key),
and each observation has the audit entries its registration would have written.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import insert, select, update

from app.core import audit
from app.core.audit import AuditEntry
from app.observations import receipts
from app.observations.models import Attachment, Channel, Observation, ObservationKind, Target
from app.observations.operations import text_as_html
from app.plans.models import Paragraph, Section
from app.plans.text import clean_html, plain_text
from app.rounds.models import ProtocolCounter
from bench.dataset import files, words

CHUNK = 500
INTAKE = (Channel.PEC, Channel.LETTER, Channel.EMAIL, Channel.MEETING)


def _anchor(rng, sections, paragraphs, target=None):
    target = (
        target
        or rng.choices(
            (Target.PLAN, Target.SECTION, Target.PARAGRAPH, Target.PASSAGE), (5, 25, 45, 25)
        )[0]
    )
    if target is Target.PLAN:
        return {"target": target, "section": None, "paragraph": None}
    if target is Target.SECTION:
        return {"target": target, "section": rng.choice(sections), "paragraph": None}
    paragraph = rng.choice(paragraphs)
    anchor = {"target": target, "section": paragraph.section, "paragraph": paragraph}
    if target is Target.PASSAGE:
        tokens = paragraph.text.split(" ")
        first = rng.randrange(len(tokens))
        last = min(len(tokens), first + rng.randint(3, 12))
        start = len(" ".join(tokens[:first])) + (1 if first else 0)
        quote = " ".join(tokens[first:last])
        assert paragraph.text[start : start + len(quote)] == quote
        anchor.update(quote_text=quote, quote_start=start, quote_end=start + len(quote))
    return anchor


def _campaigns(ctx, rng, sections, paragraphs, count):
    """Each campaign: a letter, where it points, who sends it, and when (a two-day wave)."""
    window = (ctx.shared["round"].opens_at, ctx.now - timedelta(hours=1))
    span = (window[1] - window[0]).total_seconds()
    shares = [1 / (rank + 1) for rank in range(ctx.scale.campaigns)]
    sizes = [max(2, round(count * share / sum(shares))) for share in shares]
    sizes[0] += count - sum(sizes)
    campaigns = []
    for number, size in enumerate(sizes):
        anchor = _anchor(rng, sections, paragraphs, rng.choice((Target.SECTION, Target.PARAGRAPH)))
        centre = window[0] + timedelta(seconds=span * rng.uniform(0.3, 0.95))
        campaigns.append(
            {
                "number": number,
                "size": size,
                "title": f"Campagna {number + 1}: {rng.choice(words.TOPICS).lower()}",
                "letter": words.letter(rng, (2, 4)),
                "anchor": anchor,
                "kind": rng.choice((ObservationKind.OBSERVATION, ObservationKind.SUGGESTION)),
                "centre": centre,
                "pec": rng.random() < 0.5,
            }
        )
    return campaigns


def _when(rng, start, end):
    """Later is likelier: submissions pile up towards the deadline."""
    return start + (end - start) * (rng.random() ** 0.5)


def seed(ctx) -> str:
    rng, session, scale, now = ctx.rng_for("observations"), ctx.session, ctx.scale, ctx.now
    round_ = ctx.shared["round"]
    version_id = ctx.shared["consulted"].id
    # Plain copies of the frozen text's ids, keys and words (the rows themselves stay untouched).
    sections = [
        SimpleNamespace(id=row.id, key=row.key)
        for row in session.execute(
            select(Section.id, Section.key)
            .where(Section.version_id == version_id)
            .order_by(Section.id)
        )
    ]
    by_id = {s.id: s for s in sections}
    paragraphs = [
        SimpleNamespace(id=row.id, key=row.key, text=row.text, section=by_id[row.section_id])
        for row in session.execute(
            select(Paragraph.id, Paragraph.key, Paragraph.text, Paragraph.section_id)
            .where(Paragraph.version_id == version_id)
            .order_by(Paragraph.id)
        )
    ]
    organisations = ctx.shared["organisations"]
    referents = ctx.shared["referents"]
    moderator = ctx.shared["staff"]["moderator@bench.example"]
    start, end = round_.opens_at + timedelta(minutes=30), now - timedelta(minutes=5)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(organisations))]

    campaign_total = round(scale.observations * 0.3)
    drafts = []
    for campaign in _campaigns(ctx, rng, sections, paragraphs, campaign_total):
        senders = (
            rng.sample(organisations, campaign["size"])
            if campaign["size"] <= len(organisations)
            else rng.choices(organisations, k=campaign["size"])
        )
        for organisation in senders:
            letter = list(campaign["letter"])
            variant = rng.random()
            if variant > 0.45:  # near-same: a greeting, a few words changed, a line more
                letter[0] = f"Il {organisation['name']} condivide quanto segue. " + letter[0]
                letter[-1] = words.edit(rng, letter[-1])
            if variant > 0.85:
                letter.append(words.opinion(rng))
            moment = campaign["centre"] + timedelta(hours=rng.uniform(-24, 24))
            drafts.append(
                {
                    "organisation": organisation,
                    "kind": campaign["kind"],
                    "title": campaign["title"],
                    "letter": letter,
                    "anchor": campaign["anchor"],
                    "channel": Channel.PEC
                    if campaign["pec"] and organisation["pec"]
                    else Channel.WEB,
                    "at": min(max(moment, start), end),
                    "campaign": campaign["number"],
                }
            )
    for _ in range(scale.observations - len(drafts)):
        organisation = rng.choices(organisations, weights)[0]
        anchor = _anchor(rng, sections, paragraphs)
        kind = rng.choices(list(ObservationKind), (60, 25, 15))[0]
        if kind is ObservationKind.AMENDMENT and anchor["target"] not in (
            Target.PARAGRAPH,
            Target.PASSAGE,
        ):
            kind = ObservationKind.SUGGESTION
        channel = rng.choices((Channel.WEB, Channel.API, *INTAKE), (75, 10, 7, 3, 3, 2))[0]
        if channel is Channel.PEC and not organisation["pec"]:
            channel = Channel.EMAIL
        drafts.append(
            {
                "organisation": organisation,
                "kind": kind,
                "title": f"{rng.choice(words.TOPICS)}: {rng.choice(words.OBJECTS)}",
                "letter": words.letter(rng),
                "anchor": anchor,
                "channel": channel,
                "at": _when(rng, start, end),
                "campaign": None,
            }
        )
    drafts.sort(key=lambda d: (d["at"], d["organisation"]["id"]))

    rows, attachments, audit = [], [], []
    ids: dict[int, int] = {}  # protocol number -> id
    counts = {"withdrawn": 0, "corrections": 0, "attachments": 0, "intake": 0}
    withdrawn = {}

    def flush() -> None:
        if not rows:
            return
        result = session.execute(
            insert(Observation).returning(Observation.id, sort_by_parameter_order=True), rows
        )
        for row, new_id in zip(rows, result.scalars(), strict=True):
            ids[row["protocol_number"]] = new_id
        rows.clear()

    for number, draft in enumerate(drafts, start=1):
        if number % CHUNK == 1:
            flush()
        organisation, anchor, channel = draft["organisation"], draft["anchor"], draft["channel"]
        intake = channel in INTAKE
        author = moderator if intake else rng.choice(referents[organisation["index"]])
        submitted_at = draft["at"].replace(microsecond=0)
        created_at = max(round_.opens_at, submitted_at - timedelta(minutes=rng.randint(2, 600)))
        received_at = (
            max(round_.opens_at, submitted_at - timedelta(hours=rng.randint(1, 72)))
            if intake
            else submitted_at
        )
        code = round_.protocol_code(number)
        body_html = clean_html(text_as_html("\n\n".join(draft["letter"])))
        proposed = None
        if draft["kind"] is ObservationKind.AMENDMENT:
            proposed = words.edit(rng, anchor.get("quote_text") or anchor["paragraph"].text)
        documents = []
        if intake or rng.random() < 0.05:
            kinds = ["pdf"] if intake else rng.sample(["pdf", "docx", "odt"], rng.randint(1, 2))
            for index, kind in enumerate(kinds):
                name = "originale" if intake and index == 0 else f"allegato-{index + 1}"
                documents.append(
                    files.document(kind, f"{name}-{code}", [draft["title"], *draft["letter"]])
                )
        corrects = None
        if not intake and draft["campaign"] is None and number > 2 * CHUNK and rng.random() < 0.01:
            corrects = rng.randint(1, (number - 1) // CHUNK * CHUNK)
        content = {
            "round_id": round_.id,
            "organisation_id": organisation["id"],
            "author_id": author,
            "channel": channel,
            "received_at": received_at,
            "signatory": f"Il legale rappresentante di {organisation['name']}"[:300]
            if intake
            else None,
            "kind": draft["kind"],
            "target": anchor["target"],
            "section_id": anchor["section"].id if anchor["section"] else None,
            "paragraph_id": anchor["paragraph"].id if anchor["paragraph"] else None,
            "quote_text": anchor.get("quote_text"),
            "quote_start": anchor.get("quote_start"),
            "quote_end": anchor.get("quote_end"),
            "proposed_text": proposed,
            "title": draft["title"][:300],
            "body_html": body_html,
            "body_text": plain_text(body_html),
            "consent_public_name": rng.random() < 0.4,
        }
        fingerprint = receipts.digest(
            SimpleNamespace(
                **content,
                section=anchor["section"],
                paragraph=anchor["paragraph"],
                attachments=[
                    SimpleNamespace(
                        filename=d.filename,
                        content_type=d.content_type,
                        size=d.size,
                        sha256=d.sha256,
                    )
                    for d in documents
                ],
            ),
            protocol_code=code,
            submitted_at=submitted_at,
        )
        state, withdrawn_at, reason = "submitted", None, None
        if not intake and rng.random() < 0.01:
            state = "withdrawn"
            withdrawn_at = min(now - timedelta(minutes=1), submitted_at + timedelta(hours=6))
            reason = "Sostituita da una nuova osservazione."
            withdrawn[number] = (withdrawn_at, reason)
        rows.append(
            {
                **content,
                "state": state,
                "protocol_number": number,
                "protocol_code": code,
                "submitted_at": submitted_at,
                "late": False,
                "digest": fingerprint,
                "verification_hash": receipts.hash_code(receipts.verification_code(code)),
                "corrects_id": ids.get(corrects) if corrects else None,
                "withdrawn_at": withdrawn_at,
                "withdrawal_reason": reason,
                "created_at": created_at,
                "updated_at": withdrawn_at or submitted_at,
                "form_token": None,
                "lock_version": 4 if state == "withdrawn" else 3,
            }
        )
        if documents:
            attachments.append((number, documents, created_at))
        counts["withdrawn"] += state == "withdrawn"
        counts["corrections"] += corrects is not None
        counts["intake"] += intake
        audit.append(
            (
                number,
                author,
                channel,
                code,
                fingerprint,
                created_at,
                submitted_at,
                organisation["id"],
            )
        )
    flush()

    attachment_rows = [
        {
            "observation_id": ids[number],
            "filename": d.filename,
            "content_type": d.content_type,
            "size": d.size,
            "sha256": d.sha256,
            "data": d.data,
            "created_at": created_at,
        }
        for number, documents, created_at in attachments
        for d in documents
    ]
    for first in range(0, len(attachment_rows), 200):
        session.execute(insert(Attachment), attachment_rows[first : first + 200])
    counts["attachments"] = len(attachment_rows)

    entries = []
    for number, author, channel, code, fingerprint, created_at, submitted_at, org_id in audit:
        target = {"object_type": "observations", "object_id": str(ids[number])}
        submitted = {
            "protocol": code,
            "channel": channel.value,
            "late": False,
            "digest": fingerprint,
        }
        if channel in INTAKE:
            entries.append(
                {**target, "occurred_at": submitted_at, "actor_id": author,
                 "action": "observation.submitted", "details": submitted}
            )  # fmt: skip
            entries.append(
                {**target, "occurred_at": submitted_at, "actor_id": author,
                 "action": "observation.recorded",
                 "details": {"channel": channel.value, "organisation_id": org_id}}
            )  # fmt: skip
        else:
            entries.append(
                {**target, "occurred_at": created_at, "actor_id": author,
                 "action": "observation.draft_started", "details": {}}
            )  # fmt: skip
            entries.append(
                {**target, "occurred_at": submitted_at, "actor_id": author,
                 "action": "observation.submitted", "details": submitted}
            )  # fmt: skip
        if number in withdrawn:
            at, reason = withdrawn[number]
            entries.append(
                {**target, "occurred_at": at, "actor_id": author,
                 "action": "observation.withdrawn", "details": {"protocol": code}}
            )  # fmt: skip
    _chain(session, entries)
    for first in range(0, len(entries), 2_000):
        session.execute(insert(AuditEntry), entries[first : first + 2_000])
    session.execute(
        update(ProtocolCounter)
        .where(ProtocolCounter.round_id == round_.id)
        .values(last_number=len(drafts))
    )

    _manifest(ctx, drafts, ids)
    return (
        f"{len(drafts)} observations ({campaign_total} in {scale.campaigns} campaigns, "
        f"{counts['intake']} by staff intake), {counts['attachments']} attachments, "
        f"{counts['withdrawn']} withdrawn, {counts['corrections']} corrections, "
        f"{len(entries)} audit entries"
    )


def _manifest(ctx, drafts, ids) -> None:
    """The observations the pages show: the busiest organisation's, one recorded by staff."""
    first = ctx.shared["organisations"][0]["id"]
    primary = ctx.shared["referents"][0][0]
    mine = [n for n, d in enumerate(drafts, 1) if d["organisation"]["id"] == first]
    receipt = next(
        (
            n
            for n, d in enumerate(drafts, 1)
            if d["organisation"]["id"] == first and d["channel"] is Channel.WEB
        ),
        mine[0],
    )
    staff = next(n for n, d in enumerate(drafts, 1) if d["channel"] in INTAKE)
    anchored = Counter(d["anchor"]["section"].key for d in drafts if d["anchor"]["section"])
    section = anchored.most_common(1)[0][0]
    ctx.manifest.update(
        referent_email=next(e for e in ctx.manifest["referent_emails"] if e.startswith("ref0.")),
        referent_user_id=primary,
        mine_count=len(mine),
        receipt_observation_id=ids[receipt],
        staff_observation_id=ids[staff],
        round_section_key=section,
        form_user_email=next(e for e in ctx.manifest["referent_emails"] if e.startswith("ref1.")),
        observations=len(drafts),
    )


def _chain(session, entries: list[dict]) -> None:
    """Give bulk-inserted audit entries their place in the hash chain, as a flush would: numbers
    taken from the locked head, each hash over the documented canonical form."""
    seq, prev = audit._advance(session.connection(), len(entries))
    for entry in entries:
        entry["seq"], entry["prev_hash"] = seq, prev
        entry["hash"] = prev = audit.entry_hash(SimpleNamespace(**{
            "object_type": None, "object_id": None, "actor_id": None, **entry,
        }))  # fmt: skip
        seq += 1
    session.execute(
        update(audit.AuditChainHead).where(audit.AuditChainHead.id == 1).values(last_hash=prev)
    )
