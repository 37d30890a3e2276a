"""Filling the registry in bulk: the comuni from ISTAT's list, zone assignments and organisations
from CSV files.

Every CSV import first builds a plan (what each row would create, update, leave alone or why it
is rejected) without changing anything; applying runs only when no row is rejected, so a file
is imported whole or not at all. The view or command commits once.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.core.audit import record
from app.core.i18n import lazy_gettext as _l
from app.stakeholders.csvfiles import CsvError, CsvTable, column_key, read_table, resolve_columns
from app.stakeholders.labels import FIELD_LABELS, KIND_LABELS
from app.stakeholders.models import Group, Organisation, OrganisationKind, Zone
from app.stakeholders.operations import (
    ISTAT_CODE,
    email_address,
    normalise_istat_code,
    website_address,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
#: ISTAT's "Elenco dei codici statistici e denominazioni delle unità territoriali" rows for the
#: Città metropolitana di Milano (see data/README.md for the source and licence).
ISTAT_FILES = {"MI": DATA_DIR / "istat-comuni-MI.csv"}
COMUNE_PREFIX = "Comune di "


class RowAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REJECT = "reject"


@dataclass
class RowResult:
    line: int
    label: str
    action: RowAction = RowAction.UNCHANGED
    problems: list = field(default_factory=list)
    #: {field: [before, after]} for an update, {field: value} for a creation.
    changes: dict = field(default_factory=dict)
    apply: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def details(self) -> list[str]:
        """The changes as the preview shows them, e.g. "Zona omogenea: — → Nord Ovest"."""
        if self.action == RowAction.UPDATE:
            return [
                f"{FIELD_LABELS.get(key, key)}: {_shown(before)} → {_shown(after)}"
                for key, (before, after) in self.changes.items()
            ]
        if self.action == RowAction.CREATE:
            return [
                f"{FIELD_LABELS.get(key, key)}: {_shown(value)}"
                for key, value in self.changes.items()
                if key != "name"
            ]
        return []

    def reject(self, problem) -> None:
        self.problems.append(problem)
        self.action = RowAction.REJECT


@dataclass
class ImportPlan:
    rows: list[RowResult] = field(default_factory=list)
    #: Problems with the file as a whole (encoding, columns): nothing can be imported.
    problems: list = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and all(row.action != RowAction.REJECT for row in self.rows)

    def count(self, action: RowAction) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {action.value: self.count(action) for action in RowAction}


def _propose_update(session, row: RowResult, organisation: Organisation, changes: dict, actor):
    """Mark the row as an update of ``organisation`` when there is anything to change."""
    if changes:
        row.action = RowAction.UPDATE
        row.changes = changes
        row.apply = _updater(session, organisation, changes, actor)


def _apply(
    session: Session, plan: ImportPlan, action: str, actor, *, apply: bool = True
) -> ImportPlan:
    """Carry out a plan that has no rejected row (when ``apply``); otherwise change nothing."""
    if not apply or not plan.ok:
        return plan
    for row in plan.rows:
        if row.apply is not None and row.action in (RowAction.CREATE, RowAction.UPDATE):
            row.apply()
    session.flush()
    if plan.count(RowAction.CREATE) or plan.count(RowAction.UPDATE):
        record(session, action, actor=actor, object_type="organisations", **plan.counts)
    plan.applied = True
    return plan


def _table_or_problem(raw: bytes) -> tuple[CsvTable | None, ImportPlan]:
    try:
        return read_table(raw), ImportPlan()
    except CsvError as error:
        return None, ImportPlan(problems=[error.message])


# The comuni, from ISTAT's list --------------------------------------------------------------


@dataclass(frozen=True)
class Comune:
    istat_code: str
    name: str


def read_istat_comuni(raw: bytes, province: str) -> list[Comune]:
    """The comuni of ``province`` (its car-plate code, e.g. MI) in an ISTAT list of comuni."""
    text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("latin-1")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    header = [column_key(name) for name in next(reader)]
    try:
        code = header.index("codice_comune_formato_alfanumerico")
        name = header.index("denominazione_in_italiano")
        plate = header.index("sigla_automobilistica")
    except ValueError as error:
        raise CsvError(_l("This is not ISTAT's list of comuni.")) from error
    return [
        Comune(istat_code=cells[code].strip(), name=cells[name].strip())
        for cells in reader
        if len(cells) > max(code, name, plate) and cells[plate].strip().upper() == province
    ]


def import_comuni(
    session: Session, comuni: list[Comune], *, actor=None, apply: bool = True
) -> ImportPlan:
    """Create the comuni that are missing, rename those ISTAT renamed; idempotent.

    A comune already in the registry without an ISTAT code (typed by hand as "Comune di X")
    is given its code rather than duplicated.
    """
    by_code = {
        o.istat_code: o
        for o in session.scalars(select(Organisation).where(Organisation.istat_code.is_not(None)))
    }
    uncoded = {
        o.name.lower(): o
        for o in session.scalars(
            select(Organisation).where(
                Organisation.kind == OrganisationKind.COMUNE, Organisation.istat_code.is_(None)
            )
        )
    }
    plan = ImportPlan()
    for line, comune in enumerate(comuni, start=2):
        name = f"{COMUNE_PREFIX}{comune.name}"
        row = RowResult(line=line, label=f"{comune.istat_code} {name}")
        plan.rows.append(row)
        if not ISTAT_CODE.match(comune.istat_code):
            row.reject(_l("An ISTAT code has six digits, e.g. 015182."))
            continue
        existing = by_code.get(comune.istat_code) or uncoded.get(name.lower())
        if existing is None:
            row.action = RowAction.CREATE
            row.changes = {"name": name, "istat_code": comune.istat_code}
            row.apply = _creator(session, name, comune.istat_code, actor)
            continue
        changes = {}
        if existing.name != name:
            changes["name"] = [existing.name, name]
        if existing.istat_code != comune.istat_code:
            changes["istat_code"] = [existing.istat_code, comune.istat_code]
        _propose_update(session, row, existing, changes, actor)
    return _apply(session, plan, "registry.comuni_imported", actor, apply=apply)


def _creator(session, name, istat_code, actor):
    def create():
        organisation = Organisation(name=name, kind=OrganisationKind.COMUNE, istat_code=istat_code)
        session.add(organisation)
        session.flush()
        record(session, "organisation.created", actor=actor, obj=organisation, name=name)

    return create


def _updater(session, organisation: Organisation, changes: dict, actor):
    def update():
        for key, (_, after) in changes.items():
            setattr(organisation, key, after)
        session.flush()
        audit_changes = {
            key: [_plain(before), _plain(after)] for key, (before, after) in changes.items()
        }
        record(
            session, "organisation.updated", actor=actor, obj=organisation, changes=audit_changes
        )

    return update


def _shown(value) -> str:
    if isinstance(value, OrganisationKind):
        return str(KIND_LABELS[value])
    value = _plain(value)
    if isinstance(value, list):
        return ", ".join(value) or "—"
    return value or "—"


def _plain(value):
    """What an audit entry keeps of a value: ids for rows, names for groups, else the value."""
    if isinstance(value, Zone):
        return value.name
    if isinstance(value, list):
        return sorted(getattr(item, "name", item) for item in value)
    return None if value is None else str(value)


def import_comuni_of_province(
    session: Session, province: str, *, actor=None, apply: bool = True
) -> ImportPlan:
    province = province.strip().upper()
    path = ISTAT_FILES.get(province)
    if path is None:
        raise CsvError(
            _l(
                "No ISTAT list is shipped for province %(province)s (available: %(available)s).",
                province=province,
                available=", ".join(sorted(ISTAT_FILES)),
            )
        )
    comuni = read_istat_comuni(path.read_bytes(), province)
    return import_comuni(session, comuni, actor=actor, apply=apply)


# Zone assignments -------------------------------------------------------------------------

ZONE_COLUMNS = {
    "istat_code": ("codice_istat", "istat", "codice_comune"),
    "zone": ("zona", "zona_omogenea"),
}


def _check_code(row: RowResult, raw: str, seen: dict[str, int]) -> str | None:
    code = normalise_istat_code(raw)
    if not code:
        row.reject(_l("The ISTAT code is missing."))
        return None
    if not ISTAT_CODE.match(code):
        row.reject(_l("“%(code)s” is not an ISTAT code (six digits, e.g. 015182).", code=raw))
        return None
    if code in seen:
        row.reject(
            _l("Duplicate ISTAT code %(code)s (also on line %(line)d).", code=code, line=seen[code])
        )
        return None
    seen[code] = row.line
    return code


def import_zone_assignments(
    session: Session, raw: bytes, *, actor=None, apply: bool = False
) -> ImportPlan:
    """Assign comuni to zones from a CSV of ISTAT code → zone name."""
    table, plan = _table_or_problem(raw)
    if table is None:
        return plan
    columns, plan.problems = resolve_columns(table, ZONE_COLUMNS, set(ZONE_COLUMNS))
    if plan.problems:
        return plan
    zones = {zone.name.lower(): zone for zone in session.scalars(select(Zone))}
    comuni = {
        o.istat_code: o
        for o in session.scalars(
            select(Organisation)
            .where(Organisation.istat_code.is_not(None))
            .options(selectinload(Organisation.zone))
        )
    }
    seen: dict[str, int] = {}
    for csv_row in table.rows:
        raw_code = csv_row.values[columns["istat_code"]]
        zone_name = " ".join(csv_row.values[columns["zone"]].split())
        row = RowResult(line=csv_row.line, label=f"{raw_code} → {zone_name}")
        plan.rows.append(row)
        if csv_row.problem:
            row.reject(csv_row.problem)
        code = _check_code(row, raw_code, seen)
        comune = comuni.get(code) if code else None
        if code and comune is None:
            row.reject(_l("No comune has ISTAT code %(code)s.", code=code))
        zone = zones.get(zone_name.lower())
        if not zone_name:
            row.reject(_l("The zone is missing."))
        elif zone is None:
            row.reject(
                _l(
                    "Unknown zone “%(zone)s” (known: %(known)s).",
                    zone=zone_name,
                    known=", ".join(sorted(z.name for z in zones.values())) or "—",
                )
            )
        if row.action == RowAction.REJECT:
            continue
        row.label = f"{code} {comune.name} → {zone.name}"
        if comune.zone is not zone:
            _propose_update(session, row, comune, {"zone": [comune.zone, zone]}, actor)
    return _apply(session, plan, "registry.zones_imported", actor, apply=apply)


# Organisations in bulk ---------------------------------------------------------------------

ORGANISATION_COLUMNS = {
    "name": ("nome", "denominazione", "ente"),
    "kind": ("tipo", "tipologia", "categoria"),
    "istat_code": ("codice_istat", "istat"),
    "zone": ("zona", "zona_omogenea"),
    "pec": ("indirizzo_pec",),
    "email": ("e_mail", "mail", "indirizzo_e_mail"),
    "website": ("sito", "sito_web", "web"),
    "groups": ("tavoli", "tavolo", "gruppi"),
}

#: The spellings of the kinds a sheet may use (compared as column keys: no accents or case).
KIND_SPELLINGS = {
    OrganisationKind.COMUNE: ("comune", "municipality"),
    OrganisationKind.UNIVERSITA: ("universita", "university"),
    OrganisationKind.AUTONOMIA_FUNZIONALE: ("autonomia_funzionale", "functional_autonomy"),
    OrganisationKind.ASSOCIAZIONE_CATEGORIA: (
        "associazione_categoria",
        "associazione_di_categoria",
        "trade_association",
    ),
    OrganisationKind.SINDACATO: ("sindacato", "union", "trade_union"),
    OrganisationKind.TERZO_SETTORE: ("terzo_settore", "third_sector"),
    OrganisationKind.ALTRO_ENTE_PUBBLICO: ("altro_ente_pubblico", "other_public_body"),
    OrganisationKind.ALTRO: ("altro", "other"),
}
KINDS = {spelling: kind for kind, spellings in KIND_SPELLINGS.items() for spelling in spellings}
#: Groups are listed in one cell, separated by this character.
GROUP_SEPARATOR = "|"


@dataclass
class _Registry:
    """What the organisation import compares against, loaded in a few queries."""

    by_name: dict[str, Organisation]
    by_code: dict[str, Organisation]
    zones: dict[str, Zone]
    groups: dict[str, Group]

    @classmethod
    def load(cls, session: Session) -> _Registry:
        organisations = list(
            session.scalars(
                select(Organisation).options(
                    selectinload(Organisation.groups), selectinload(Organisation.zone)
                )
            )
        )
        return cls(
            by_name={o.name.lower(): o for o in organisations},
            by_code={o.istat_code: o for o in organisations if o.istat_code},
            zones={z.name.lower(): z for z in session.scalars(select(Zone))},
            groups={g.name.lower(): g for g in session.scalars(select(Group))},
        )


def _organisation_row(
    csv_row, columns: dict[str, str], registry: _Registry, seen: dict
) -> tuple[RowResult, dict, Organisation | None]:
    def cell(name: str) -> str:
        return csv_row.values[columns[name]] if name in columns else ""

    name = " ".join(cell("name").split())
    row = RowResult(line=csv_row.line, label=name or "—")
    if csv_row.problem:
        row.reject(csv_row.problem)
    wanted: dict = {}
    if not name:
        row.reject(_l("The name is missing."))
    elif len(name) > 300:
        row.reject(_l("The name is longer than %(n)d characters.", n=300))
    elif name.lower() in seen["names"]:
        row.reject(_l("Duplicate name (also on line %(line)d).", line=seen["names"][name.lower()]))
    else:
        seen["names"][name.lower()] = row.line
        wanted["name"] = name
    kind = KINDS.get(column_key(cell("kind")))
    if kind is None:
        row.reject(
            _l(
                "Unknown kind “%(kind)s” (expected one of: %(expected)s).",
                kind=cell("kind"),
                expected=", ".join(kind.value for kind in OrganisationKind),
            )
        )
    else:
        wanted["kind"] = kind
    if cell("istat_code"):
        code = _check_code(row, cell("istat_code"), seen["codes"])
        if code and kind is not None and kind != OrganisationKind.COMUNE:
            row.reject(_l("Only a comune has an ISTAT code."))
        elif code:
            wanted["istat_code"] = code
    if cell("zone"):
        zone = registry.zones.get(" ".join(cell("zone").split()).lower())
        if zone is None:
            row.reject(_l("Unknown zone “%(zone)s”.", zone=cell("zone")))
        elif kind is not None and kind != OrganisationKind.COMUNE:
            row.reject(_l("Only a comune belongs to a zona omogenea."))
        else:
            wanted["zone"] = zone
    for key, label in (("pec", "PEC"), ("email", _l("e-mail"))):
        if cell(key):
            address = email_address(cell(key))
            if address is None:
                row.reject(
                    _l("Malformed %(what)s address “%(value)s”.", what=label, value=cell(key))
                )
            else:
                wanted[key] = address
    if cell("website"):
        website = website_address(cell("website"))
        if website is None:
            row.reject(_l("Malformed web address “%(value)s”.", value=cell("website")))
        else:
            wanted["website"] = website
    if cell("groups"):
        groups = []
        for group_name in filter(None, (g.strip() for g in cell("groups").split(GROUP_SEPARATOR))):
            group = registry.groups.get(" ".join(group_name.split()).lower())
            if group is None:
                row.reject(_l("Unknown group “%(group)s”.", group=group_name))
            else:
                groups.append(group)
        wanted["groups"] = groups
    existing = None
    if "istat_code" in wanted:
        existing = registry.by_code.get(wanted["istat_code"])
    if existing is None and name:
        existing = registry.by_name.get(name.lower())
    if existing is not None and "name" in wanted:
        holder = registry.by_name.get(name.lower())
        if holder is not None and holder is not existing:
            row.reject(
                _l("The name is already used by another organisation (%(name)s).", name=holder.name)
            )
    if (
        existing is not None
        and existing.istat_code
        and wanted.get("kind")
        not in (
            None,
            OrganisationKind.COMUNE,
        )
    ):
        row.reject(_l("%(name)s is a comune with an ISTAT code.", name=existing.name))
    return row, wanted, existing


def import_organisations(
    session: Session, raw: bytes, *, actor=None, apply: bool = False
) -> ImportPlan:
    """Create or update organisations from a CSV (matched by ISTAT code, else by name).

    An empty cell leaves the value as it is; groups listed are added to the organisation's
    groups, and those not listed are kept.
    """
    table, plan = _table_or_problem(raw)
    if table is None:
        return plan
    columns, plan.problems = resolve_columns(table, ORGANISATION_COLUMNS, {"name", "kind"})
    if plan.problems:
        return plan
    registry = _Registry.load(session)
    seen: dict = {"names": {}, "codes": {}}
    for csv_row in table.rows:
        row, wanted, existing = _organisation_row(csv_row, columns, registry, seen)
        plan.rows.append(row)
        if row.action == RowAction.REJECT:
            continue
        if existing is None:
            row.action = RowAction.CREATE
            row.changes = {key: _plain(value) for key, value in wanted.items()}
            row.apply = _organisation_creator(session, wanted, actor)
            continue
        row.label = existing.name if existing.name == wanted["name"] else row.label
        if "groups" in wanted:
            wanted["groups"] = sorted(
                {*existing.groups, *wanted["groups"]}, key=lambda group: group.name
            )
        changes = {
            key: [getattr(existing, key), value]
            for key, value in wanted.items()
            if _plain(getattr(existing, key)) != _plain(value)
        }
        _propose_update(session, row, existing, changes, actor)
    return _apply(session, plan, "registry.organisations_imported", actor, apply=apply)


def _organisation_creator(session, wanted: dict, actor):
    def create():
        organisation = Organisation(**{k: v for k, v in wanted.items() if k != "groups"})
        organisation.groups = wanted.get("groups", [])
        session.add(organisation)
        session.flush()
        record(
            session,
            "organisation.created",
            actor=actor,
            obj=organisation,
            **{key: _plain(value) for key, value in wanted.items()},
        )

    return create
