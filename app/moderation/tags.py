"""Tags in families: seeding, creating, renaming, recolouring and merging them, and putting
them on observations. Functions flush, never commit; refusals are ModerationErrors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation.models import (
    NAME_MAX,
    PALETTE,
    ModerationError,
    ObservationTag,
    Tag,
    TagFamily,
    Triage,
)
from app.moderation.operations import check_lock, flush_guarded
from app.moderation.search import fold
from app.plans.models import PolicyArea
from app.stakeholders.models import Zone

#: The six ambiti di policy of the Piano Strategico Metropolitano, as the plan names them.
POLICY_AREA_NAMES = {
    PolicyArea.AGILE: "Agile e performante",
    PolicyArea.CREATIVA: "Creativa e innovativa",
    PolicyArea.ATTRATTIVA: "Attrattiva e aperta al mondo",
    PolicyArea.INTELLIGENTE: "Intelligente e sostenibile",
    PolicyArea.VELOCE: "Veloce e integrata",
    PolicyArea.COESA: "Coesa e cooperante",
}

_COLOURS = list(PALETTE)


def name_key(name: str) -> str:
    return " ".join(fold(name).split())


def clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ModerationError(_l("Give the tag a name."), "name")
    if len(name) > NAME_MAX:
        raise ModerationError(_l("A tag's name has at most %(n)d characters.", n=NAME_MAX), "name")
    return name


def _check_colour(colour: str) -> str:
    if colour not in PALETTE:
        raise ModerationError(_l("Choose a colour from the palette."), "colour")
    return colour


def _check_free(session: Session, family: TagFamily, key: str, own_id: int | None) -> None:
    clash = session.scalar(
        select(Tag.id).where(
            Tag.family == family,
            Tag.name_key == key,
            Tag.merged_into_id.is_(None),
            Tag.id != (own_id or 0),
        )
    )
    if clash is not None:
        raise ModerationError(
            _l("Another tag of this family already has this name (case and accents aside)."),
            "name",
        )


# Seeding -----------------------------------------------------------------------------------


def seed_tags(session: Session, *, actor: User | None = None) -> dict[str, int]:
    """The six policy areas, and one tag for each zona omogenea that has none (idempotent)."""
    counts = {"policy_areas": 0, "zones": 0}
    present = set(session.scalars(select(Tag.policy_area).where(Tag.policy_area.is_not(None))))
    for number, (area, name) in enumerate(POLICY_AREA_NAMES.items()):
        if area in present:
            continue
        session.add(
            Tag(
                family=TagFamily.POLICY_AREA,
                name=name,
                name_key=name_key(name),
                colour=_COLOURS[number % len(_COLOURS)],
                policy_area=area,
            )
        )
        counts["policy_areas"] += 1
    tagged = set(session.scalars(select(Tag.zone_id).where(Tag.zone_id.is_not(None))))
    taken = set(session.scalars(select(Tag.name_key).where(Tag.family == TagFamily.ZONE)))
    for zone in session.scalars(select(Zone).order_by(Zone.name)):
        if zone.id in tagged:
            continue
        name, key = zone.name[:NAME_MAX], name_key(zone.name[:NAME_MAX])
        if key in taken:  # a zone tag renamed to this zone's name: keep both apart
            name = f"{name[: NAME_MAX - 8]} ({zone.id})"
            key = name_key(name)
        session.add(
            Tag(family=TagFamily.ZONE, name=name, name_key=key, colour="slate", zone_id=zone.id)
        )
        taken.add(key)
        counts["zones"] += 1
    session.flush()
    if any(counts.values()):
        record(session, "tag.seeded", actor=actor, object_type="tags", **counts)
    return counts


# Managing tags -----------------------------------------------------------------------------


def create_theme(session: Session, *, name: str, colour: str, actor: User) -> Tag:
    name = clean_name(name)
    key = name_key(name)
    _check_free(session, TagFamily.THEME, key, None)
    tag = Tag(family=TagFamily.THEME, name=name, name_key=key, colour=_check_colour(colour))
    session.add(tag)
    session.flush()
    record(session, "tag.created", actor=actor, obj=tag, family=tag.family.value)
    return tag


def update_tag(
    session: Session, tag: Tag, *, name: str, colour: str, actor: User, seen_lock: int | None
) -> Tag:
    """Rename or recolour a tag: its assignments are untouched (they point at its id)."""
    if not tag.in_use:
        raise ModerationError(_l("This tag was merged into another."))
    check_lock(tag, seen_lock)
    name = clean_name(name)
    key = name_key(name)
    _check_free(session, tag.family, key, tag.id)
    renamed = name != tag.name
    tag.name, tag.name_key, tag.colour = name, key, _check_colour(colour)
    flush_guarded(session)
    record(session, "tag.updated", actor=actor, obj=tag, renamed=renamed, colour=tag.colour)
    return tag


def merge_preview(session: Session, source: Tag, target: Tag) -> dict[str, int]:
    """What merging ``source`` into ``target`` would do, refusing what it may not do."""
    if source.id == target.id:
        raise ModerationError(_l("A tag cannot be merged into itself."), "target")
    if not (source.in_use and target.in_use):
        raise ModerationError(_l("This tag was merged into another."), "target")
    if source.family is not TagFamily.THEME or target.family is not TagFamily.THEME:
        raise ModerationError(
            _l("Only themes are merged: policy areas and zones are fixed."), "target"
        )
    tagged = select(ObservationTag.observation_id).where(ObservationTag.tag_id == source.id)
    both = session.scalar(
        select(func.count())
        .select_from(ObservationTag)
        .where(ObservationTag.tag_id == target.id, ObservationTag.observation_id.in_(tagged))
    )
    total = session.scalar(
        select(func.count()).select_from(ObservationTag).where(ObservationTag.tag_id == source.id)
    )
    return {"moved": total - both, "already": both}


def merge_tags(
    session: Session,
    source: Tag,
    target: Tag,
    *,
    actor: User,
    seen_locks: tuple[int | None, int | None],
    now: datetime | None = None,
) -> dict[str, int]:
    """Every observation tagged ``source`` ends tagged ``target``; ``source`` is kept, marked
    merged (its name is free again). Nothing is lost: the moved assignments keep who made
    them and when."""
    counts = merge_preview(session, source, target)
    check_lock(source, seen_locks[0])
    check_lock(target, seen_locks[1])
    already = select(ObservationTag.observation_id).where(ObservationTag.tag_id == target.id)
    session.execute(
        insert(ObservationTag).from_select(
            ["observation_id", "tag_id", "tagged_by_id", "tagged_at"],
            select(
                ObservationTag.observation_id,
                target.id,
                ObservationTag.tagged_by_id,
                ObservationTag.tagged_at,
            ).where(
                ObservationTag.tag_id == source.id,
                ObservationTag.observation_id.not_in(already),
            ),
        )
    )
    _touch(session, _ids_tagged(session, source.id), now or utcnow())
    session.execute(delete(ObservationTag).where(ObservationTag.tag_id == source.id))
    source.merged_into_id = target.id
    flush_guarded(session)
    record(
        session,
        "tag.merged",
        actor=actor,
        obj=source,
        target_id=target.id,
        moved=counts["moved"],
        already=counts["already"],
    )
    return counts


def _ids_tagged(session: Session, tag_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ObservationTag.observation_id).where(ObservationTag.tag_id == tag_id)
        )
    )


def _touch(session: Session, observation_ids: Iterable[int], now: datetime) -> None:
    """Mark the items changed (their lock moves on), so a page shown before sees it."""
    ids = list(observation_ids)
    for start in range(0, len(ids), 500):
        for triage in session.scalars(
            select(Triage).where(Triage.observation_id.in_(ids[start : start + 500]))
        ):
            triage.changed_at = now


# Link tables (tags on observations and points, editors on points) ---------------------------


def sync_links(
    session: Session, model, owner: dict, member: str, wanted: Iterable[int], extra: dict
) -> tuple[list[int], list[int]]:
    """Make the ``model`` rows of ``owner`` (column → value) hold exactly the ``wanted``
    values in column ``member``; new rows get ``extra`` too. Returns (added, removed)."""
    conditions = [getattr(model, name) == value for name, value in owner.items()]
    column = getattr(model, member)
    current = set(session.scalars(select(column).where(*conditions)))
    wanted = set(wanted)
    added, removed = sorted(wanted - current), sorted(current - wanted)
    for value in added:
        session.add(model(**owner, **{member: value}, **extra))
    if removed:
        session.execute(delete(model).where(*conditions, column.in_(removed)))
    return added, removed


def grouped(session: Session, statement, ids: Iterable[int]) -> dict[int, list]:
    """``statement`` selects (id, thing) for ``ids``: the things of each id, in order."""
    result: dict[int, list] = {i: [] for i in ids}
    if result:
        for key, thing in session.execute(statement):
            result[key].append(thing)
    return result


# Tagging -----------------------------------------------------------------------------------


def usable_tags(session: Session, ids: Iterable[int]) -> list[Tag]:
    wanted = set(ids)
    if not wanted:
        return []
    tags = list(
        session.scalars(select(Tag).where(Tag.id.in_(wanted), Tag.merged_into_id.is_(None)))
    )
    if len(tags) != len(wanted):
        raise ModerationError(_l("One of the tags chosen no longer exists."), "tags")
    return tags


def set_tags(
    session: Session,
    triage: Triage,
    tag_ids: Iterable[int],
    *,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> dict[str, list[int]]:
    """Give one observation exactly these tags."""
    from app.moderation.permissions import can_moderate

    observation = triage.observation
    if not can_moderate(actor, observation.round):
        raise ModerationError(_l("You may not do this in this round."))
    check_lock(triage, seen_lock)
    now = now or utcnow()
    added, removed = sync_links(
        session,
        ObservationTag,
        {"observation_id": observation.id},
        "tag_id",
        {tag.id for tag in usable_tags(session, tag_ids)},
        {"tagged_by_id": actor.id, "tagged_at": now},
    )
    if added or removed:
        triage.changed_at = now
        flush_guarded(session)
        record(
            session,
            "observation.tags_changed",
            actor=actor,
            obj=observation,
            added=added,
            removed=removed,
        )
    return {"added": added, "removed": removed}


def tags_of(session: Session, observation_ids: Iterable[int]) -> dict[int, list[Tag]]:
    """The tags of each observation (one statement for a whole page)."""
    ids = list(observation_ids)
    return grouped(
        session,
        select(ObservationTag.observation_id, Tag)
        .join(Tag, Tag.id == ObservationTag.tag_id)
        .where(ObservationTag.observation_id.in_(ids))
        .order_by(Tag.family, Tag.name_key),
        ids,
    )
