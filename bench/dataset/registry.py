"""The registry: zones, groups (Tavoli), organisations, their referents, and the staff."""

from __future__ import annotations

import base64

from sqlalchemy import insert

from app.accounts.models import Role, User, UserRole
from app.accounts.passwords import hash_password
from app.api.models import ApiToken
from app.api.operations import TOKEN_PREFIX
from app.api.operations import hash_token as hash_api_token
from app.demo import DEMO_ZONES
from app.stakeholders.models import Group, Organisation, OrganisationKind, Zone, group_memberships

ZONE_NAMES = DEMO_ZONES
GROUP_NAMES = (
    "Tavolo metropolitano",
    "Tavolo metropolitano Università",
    "Tavolo delle imprese",
    "Tavolo delle parti sociali",
    "Tavolo del Terzo settore",
    "Tavolo della mobilità",
    "Tavolo dell'ambiente",
    "Tavolo dell'abitare",
    "Tavolo della cultura",
    "Tavolo dell'agricoltura",
)
OTHER_KINDS = (
    (OrganisationKind.ASSOCIAZIONE_CATEGORIA, "Associazione"),
    (OrganisationKind.TERZO_SETTORE, "Fondazione"),
    (OrganisationKind.SINDACATO, "Sindacato"),
    (OrganisationKind.UNIVERSITA, "Università"),
    (OrganisationKind.AUTONOMIA_FUNZIONALE, "Camera"),
    (OrganisationKind.ALTRO_ENTE_PUBBLICO, "Consorzio"),
    (OrganisationKind.ALTRO, "Comitato"),
)
SYLLABLES = (
    "bor", "ga", "na", "te", "ro", "ce", "vi", "mo", "la", "se", "sto", "cor", "bia", "ssa",
    "gno", "ri", "ver", "da", "to", "lo", "pa", "der", "no", "sa", "me", "ci", "tre", "zza",
)  # fmt: skip
STAFF = (
    ("admin@bench.example", "Amministrazione", (Role.ADMIN,)),
    ("editor@bench.example", "Ufficio di piano", (Role.EDITOR,)),
    ("moderator@bench.example", "Segreteria tecnica", (Role.MODERATOR,)),
)


def _place_name(rng, taken: set[str]) -> str:
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
        if rng.random() < 0.15:
            name += rng.choice((" sul Naviglio", " con Villa", " Milanese", " d'Adda"))
        if name not in taken:
            taken.add(name)
            return name


def _token(rng, nbytes: int = 32) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(nbytes)).rstrip(b"=").decode()


def _inserted_ids(session, model, rows) -> list[int]:
    result = session.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def seed(ctx) -> str:
    rng, scale, session, now = ctx.rng_for("registry"), ctx.scale, ctx.session, ctx.now
    zone_ids = _inserted_ids(
        session, Zone, [{"name": name, "created_at": now} for name in ZONE_NAMES[: scale.zones]]
    )
    group_ids = _inserted_ids(
        session, Group, [{"name": name, "created_at": now} for name in GROUP_NAMES[: scale.groups]]
    )
    taken: set[str] = set()
    organisations = []
    for number in range(scale.comuni):
        place = _place_name(rng, taken)
        organisations.append(
            {
                "name": f"Comune di {place}",
                "kind": OrganisationKind.COMUNE,
                "istat_code": f"{15 + number // 1000:03d}{number % 1000:03d}",
                "zone_id": zone_ids[number % len(zone_ids)],
                "pec": f"protocollo@pec.comune{number}.example",
                "email": f"urbanistica@comune{number}.example",
            }
        )
    for number in range(scale.organisations - scale.comuni):
        kind, word = OTHER_KINDS[number % len(OTHER_KINDS)]
        organisations.append(
            {
                "name": f"{word} {_place_name(rng, taken)}",
                "kind": kind,
                "istat_code": None,
                "zone_id": None,
                "pec": None if number % 3 else f"ente{number}@pec.example",
                "email": f"segreteria@ente{number}.example",
            }
        )
    for row in organisations:
        row.update(website=None, active=True, created_at=now)
    organisation_ids = _inserted_ids(session, Organisation, organisations)
    # Every organisation other than a comune sits in one to three Tavoli (the round admits them
    # through their groups); a few comuni sit in the first.
    memberships = set()
    for index, row in enumerate(organisations):
        if row["kind"] is OrganisationKind.COMUNE:
            if rng.random() < 0.1:
                memberships.add((group_ids[0], organisation_ids[index]))
            continue
        for group_id in rng.sample(group_ids, rng.randint(1, min(3, len(group_ids)))):
            memberships.add((group_id, organisation_ids[index]))
    session.execute(
        insert(group_memberships),
        [{"group_id": g, "organisation_id": o} for g, o in sorted(memberships)],
    )

    # Users: the staff, one primary referent per organisation, two more for the busiest ones.
    password_hash = hash_password(ctx.manifest["password"])
    users = [
        {"email": email, "display_name": name, "organisation_id": None, "primary_referent": False}
        for email, name, _roles in STAFF
    ]
    referents = []  # (organisation index, user index)
    for index, organisation_id in enumerate(organisation_ids):
        for extra in range(3 if index < 5 else 1):
            referents.append((index, len(users)))
            users.append(
                {
                    "email": f"ref{index}.{extra}@bench.example",
                    "display_name": f"Referente {extra + 1}, {organisations[index]['name']}",
                    "organisation_id": organisation_id,
                    "primary_referent": extra == 0,
                }
            )
    for row in users:
        row.update(
            password_hash=password_hash,
            active=True,
            session_token=_token(rng),
            locale=None,
            created_at=now,
        )
    user_ids = _inserted_ids(session, User, users)
    roles = [
        {"user_id": user_ids[i], "role": role}
        for i, (_email, _name, staff_roles) in enumerate(STAFF)
        for role in staff_roles
    ]
    roles += [{"user_id": user_ids[u], "role": Role.STAKEHOLDER} for _o, u in referents]
    session.execute(insert(UserRole), roles)

    # An API token for the third organisation's primary referent; the secret is derived from the
    # seed, so that the benchmark knows it.
    secret = TOKEN_PREFIX + _token(rng)
    api_referent = next(u for o, u in referents if o == min(2, len(organisations) - 1))
    api_user = user_ids[api_referent]
    session.execute(
        insert(ApiToken),
        [
            {
                "user_id": api_user,
                "name": "bench",
                "prefix": secret[:12],
                "token_hash": hash_api_token(secret),
                "created_by_id": user_ids[0],
                "created_at": now,
            }
        ],
    )

    ctx.shared.update(
        zone_ids=zone_ids,
        group_ids=group_ids,
        organisations=[
            {**row, "id": organisation_ids[i], "index": i} for i, row in enumerate(organisations)
        ],
        # Per organisation index: its referents' user ids (primary first).
        referents={
            i: [user_ids[u] for o, u in referents if o == i] for i in range(len(organisations))
        },
        staff={email: user_ids[i] for i, (email, _n, _r) in enumerate(STAFF)},
    )
    ctx.manifest.update(
        admin_email=STAFF[0][0],
        editor_email=STAFF[1][0],
        moderator_email=STAFF[2][0],
        api_token=secret,
        api_user_email=users[api_referent]["email"],
        referent_emails=[users[u]["email"] for o, u in referents if users[u]["primary_referent"]],
    )
    return (
        f"{len(zone_ids)} zones, {len(group_ids)} groups, {len(organisation_ids)} organisations, "
        f"{len(user_ids)} users"
    )
