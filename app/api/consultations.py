"""The intake API's consultation endpoints: rounds, their text, and submitting observations."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from flask import current_app, g
from sqlalchemy import select

from app.api.blueprints import bp
from app.api.permissions import can_use_api
from app.api.views import api_view, json_body
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.json_errors import ApiError
from app.core.permissions import require
from app.core.urls import absolute_url
from app.extensions import db
from app.observations import operations, receipts
from app.observations.models import (
    INTAKE_CHANNELS,
    Channel,
    Observation,
    ObservationKind,
)
from app.observations.permissions import can_follow
from app.plans.frozen import frozen_tree
from app.rounds.models import Round
from app.rounds.permissions import can_manage_rounds, can_see_round, can_submit
from app.rounds.queries import visible_rounds
from app.stakeholders.models import Organisation


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _round_summary(round_: Round, now: datetime) -> dict:
    return {
        "id": round_.id,
        "title": round_.title,
        "state": round_.state.value,
        "opens_at": _iso(round_.opens_at),
        "closes_at": _iso(round_.closes_at),
        "accepting": round_.accepts_at(now)[0],
        "accept_late": round_.accept_late,
        "protocol_prefix": round_.protocol_prefix,
        "plan": {"slug": round_.version.plan.slug, "title": round_.version.plan.title},
        "version": {"number": round_.version.number, "label": round_.version.label},
    }


def _visible_round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None or not can_see_round(g.api_token.user, round_):
        raise ApiError(404, _l("No such round."))
    return round_


@bp.get("/rounds")
@require(can_use_api)
@api_view
def list_rounds():
    rounds = db.session.scalars(visible_rounds(g.api_token.user))
    now = utcnow()
    return {"rounds": [_round_summary(r, now) for r in rounds]}, 200


@bp.get("/rounds/<int:round_id>")
@require(can_use_api)
@api_view
def get_round(round_id: int):
    round_ = _visible_round(round_id)
    tree = frozen_tree(db.session, round_.version)
    sections = [
        {
            "key": node.section.key,
            "number": node.section.number,
            "title": node.section.title,
            "parent": tree.nodes[node.section.parent_id].section.key
            if node.section.parent_id
            else None,
            "paragraphs": [{"key": p.key, "text": p.text} for p in node.paragraphs],
        }
        for node in tree.walk()
    ]
    return {**_round_summary(round_, utcnow()), "sections": sections}, 200


def _invalid(message, field: str, detail) -> ApiError:
    return ApiError(422, message, fields={field: [detail]})


def _string(body: dict, name: str, *, required: bool = False, max_length: int = 100_000):
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(
                422, _l("Missing field: %(name)s.", name=name), fields={name: [_l("Required.")]}
            )
        return None
    if not isinstance(value, str):
        raise ApiError(
            422,
            _l("%(name)s must be a string.", name=name),
            fields={name: [_l("Must be a string.")]},
        )
    if len(value) > max_length:
        raise ApiError(
            422, _l("%(name)s is too long.", name=name), fields={name: [_l("Too long.")]}
        )
    return value


def _boolean(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise _invalid(
            _l("%(name)s must be true or false.", name=name), name, _l("Must be true or false.")
        )
    return value


def _identifier(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise _invalid(
            _l("%(name)s must be a positive whole number.", name=name),
            name,
            _l("Must be a positive whole number."),
        )
    return value


def _quote(body: dict) -> dict:
    quote = body.get("quote")
    if quote is None:
        return {}
    if not isinstance(quote, dict) or not isinstance(quote.get("text"), str):
        raise _invalid(
            _l("quote must be an object with the quoted text."),
            "quote",
            _l("Must be an object with a text."),
        )
    for offset in ("start", "end"):
        if offset in quote and (
            isinstance(quote[offset], bool) or not isinstance(quote[offset], int)
        ):
            raise _invalid(
                _l("quote must be an object with the quoted text."),
                "quote",
                _l("Offsets must be whole numbers."),
            )
    return quote


def _attachments(body: dict) -> list[tuple[str, bytes]]:
    items = body.get("attachments") or []
    if not isinstance(items, list):
        raise ApiError(
            422, _l("attachments must be a list."), fields={"attachments": [_l("Must be a list.")]}
        )
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    decoded = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise ApiError(
                422,
                _l("Each attachment needs a filename and base64 content."),
                fields={
                    "attachments": [_l("Each attachment needs a filename and base64 content.")]
                },
            )
        if len(item["content"]) * 3 // 4 > limit + 3:
            raise ApiError(413, _l("An attachment is larger than the limit."))
        try:
            data = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(
                422,
                _l("An attachment is not valid base64."),
                fields={"attachments": [_l("Not valid base64.")]},
            ) from None
        decoded.append((str(item.get("filename") or "allegato")[:200], data))
    return decoded


def _receipt(observation: Observation, *, with_code: bool = False) -> dict:
    receipt = {
        "id": observation.id,
        "protocol": observation.protocol_code,
        "state": observation.state.value,
        "channel": observation.channel.value,
        "submitted_at": _iso(observation.submitted_at),
        "received_at": _iso(observation.received_at),
        "late": observation.late,
        "digest": observation.digest,
        "receipt_url": absolute_url("observations.receipt", observation_id=observation.id),
    }
    if with_code:  # given once, to whoever submitted it
        receipt["verification_code"] = receipts.verification_code(observation.protocol_code)
    return receipt


@bp.post("/rounds/<int:round_id>/observations")
@require(can_use_api)
@api_view
def submit_observation(round_id: int):
    """Submit an observation in one request (no draft), or, for staff, record one received
    by PEC, letter, e-mail or meeting."""
    user = g.api_token.user
    round_ = _visible_round(round_id)
    body = json_body()
    try:
        kind = ObservationKind(body.get("kind") or ObservationKind.OBSERVATION.value)
    except ValueError:
        raise _invalid(_l("Unknown kind."), "kind", _l("Unknown kind.")) from None
    quote = _quote(body)
    files = _attachments(body)
    anchor = operations.resolve_anchor(
        db.session,
        round_,
        section_key=_string(body, "section", max_length=16),
        paragraph_key=_string(body, "paragraph", max_length=16),
        quote=quote.get("text") if isinstance(quote.get("text"), str) else None,
        start=quote.get("start") if isinstance(quote.get("start"), int) else None,
        end=quote.get("end") if isinstance(quote.get("end"), int) else None,
    )
    channel_name = _string(body, "channel", max_length=20) or Channel.API.value
    if channel_name != Channel.API.value:
        observation = _record_intake(round_, body, anchor, kind, channel_name, files)
    else:
        observation = _submit_as_participant(round_, body, anchor, kind, files, user)
    return _receipt(observation, with_code=True), 201


def _submit_as_participant(round_, body, anchor, kind, files, user) -> Observation:
    organisation_id = _identifier(body, "organisation_id")
    if organisation_id is not None and organisation_id != user.organisation_id:
        raise ApiError(403, _l("A referent speaks only for their own organisation."))
    if not can_submit(user, round_):
        raise ApiError(403, _l("Your organisation is not among those taking part in this round."))
    observation = operations.start_draft(db.session, round_, author=user, anchor=anchor)
    observation.channel = Channel.API
    operations.save_draft(
        db.session,
        observation,
        user=user,
        title=_string(body, "title", required=True, max_length=300),
        body_html=_string(body, "text", required=True),
        kind=kind,
        proposed_text=_string(body, "proposed_text", max_length=20_000),
        consent_public_name=_boolean(body, "consent_public_name"),
    )
    for filename, data in files:
        operations.add_attachment(db.session, observation, user=user, filename=filename, data=data)
    return operations.submit(db.session, observation, actor=user)


def _record_intake(round_, body, anchor, kind, channel_name, files) -> Observation:
    user = g.api_token.user
    if not can_manage_rounds(user):
        raise ApiError(403, _l("Only staff record observations received by other channels."))
    try:
        channel = Channel(channel_name)
    except ValueError:
        raise ApiError(
            422, _l("Unknown channel."), fields={"channel": [_l("Unknown channel.")]}
        ) from None
    if channel not in INTAKE_CHANNELS:
        raise ApiError(422, _l("Unknown channel."), fields={"channel": [_l("Unknown channel.")]})
    organisation_id = _identifier(body, "organisation_id")
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None:
        raise ApiError(
            422,
            _l("Unknown organisation."),
            fields={"organisation_id": [_l("Unknown organisation.")]},
        )
    received = _string(body, "received_at", max_length=40)
    try:
        received_at = (
            datetime.fromisoformat(received.replace("Z", "+00:00")) if received else utcnow()
        )
    except ValueError:
        raise ApiError(
            422,
            _l("received_at is not an ISO 8601 date and time."),
            fields={"received_at": [_l("Not an ISO 8601 date and time.")]},
        ) from None
    if received_at.tzinfo is None:
        raise ApiError(
            422,
            _l("received_at needs a time zone (e.g. Z or +01:00)."),
            fields={"received_at": [_l("Give a time zone.")]},
        )
    observation = operations.record_intake(
        db.session,
        round_,
        actor=user,
        organisation=organisation,
        channel=channel,
        received_at=received_at,
        signatory=_string(body, "signatory", max_length=300),
        anchor=anchor,
        kind=kind,
        title=_string(body, "title", required=True, max_length=300),
        body_html=_string(body, "text", required=True),
        proposed_text=_string(body, "proposed_text", max_length=20_000),
        consent_public_name=_boolean(body, "consent_public_name"),
        originals=files,
    )
    return observation


@bp.get("/observations/<protocol>")
@require(can_use_api)
@api_view
def get_observation(protocol: str):
    observation = db.session.scalar(
        select(Observation).where(Observation.protocol_code == protocol.upper()[:40])
    )
    if observation is None or not can_follow(g.api_token.user, observation):
        raise ApiError(404, _l("No such observation."))
    return _receipt(observation), 200
