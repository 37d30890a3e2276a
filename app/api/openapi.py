"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from flask import current_app

from app.core.bounds import DB_INT_MAX

ERROR_RESPONSES = {
    "400": "The request is malformed (e.g. invalid JSON).",
    "401": "No valid API token.",
    "403": "The token's user may not do this.",
    "404": "No such resource.",
    "409": "The request conflicts with the resource's state.",
    "413": "The request is too large.",
    "415": "The body is not JSON.",
    "422": "The data is not valid; `fields` says which and why.",
    "429": "Too many requests; see the Retry-After header.",
}


def _errors(*codes: str) -> dict:
    return {
        code: {
            "description": ERROR_RESPONSES[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


#: What the server takes as an id (its database INTEGER): larger ones are a 404 or a 422.
ID = {"type": "integer", "minimum": 1, "maximum": DB_INT_MAX}


def _path_int(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": dict(ID)}


ROUND = {
    "type": "object",
    "required": ["id", "title", "state", "opens_at", "closes_at", "accepting"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "state": {
            "type": "string",
            "enum": ["draft", "scheduled", "open", "closed", "in_review", "concluded"],
        },
        "opens_at": {"type": "string", "format": "date-time"},
        "closes_at": {"type": "string", "format": "date-time"},
        "accepting": {"type": "boolean", "description": "Observations are taken now."},
        "accept_late": {"type": "boolean"},
        "protocol_prefix": {"type": "string"},
        "plan": {
            "type": "object",
            "properties": {"slug": {"type": "string"}, "title": {"type": "string"}},
        },
        "version": {
            "type": "object",
            "properties": {"number": {"type": "integer"}, "label": {"type": "string"}},
        },
    },
}

OBSERVATION_INPUT = {
    "type": "object",
    "required": ["title", "text"],
    "properties": {
        "kind": {"type": "string", "enum": ["observation", "suggestion", "amendment"]},
        "title": {"type": "string", "maxLength": 300},
        "text": {
            "type": "string",
            "maxLength": 100_000,
            "description": "HTML; cleaned to a small allow-list. Its plain text may hold at "
            "most OBSERVATION_MAX_CHARS characters (30,000 by default).",
        },
        "section": {
            "type": "string",
            "maxLength": 16,
            "description": "A section key (see getRound).",
        },
        "paragraph": {
            "type": "string",
            "maxLength": 16,
            "description": "A paragraph key (see getRound).",
        },
        "quote": {
            "type": "object",
            "description": "A passage of the paragraph: its exact words and, optionally, "
            "their offsets in the paragraph's text.",
            "properties": {
                "text": {"type": "string"},
                "start": {"type": "integer"},
                "end": {"type": "integer"},
            },
        },
        "proposed_text": {"type": "string", "maxLength": 20_000, "description": "For amendments."},
        "consent_public_name": {"type": "boolean"},
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["filename", "content"],
                "properties": {
                    "filename": {"type": "string"},
                    "content": {"type": "string", "contentEncoding": "base64"},
                },
            },
            "description": "PDF, ODT or DOCX, checked by content.",
        },
        "organisation_id": {**ID, "description": "Staff intake: the author organisation."},
        "channel": {
            "type": "string",
            "enum": ["api", "pec", "letter", "email", "meeting"],
            "description": "Staff intake: how it arrived (the first attachment is the original).",
        },
        "received_at": {"type": "string", "format": "date-time", "maxLength": 40},
        "signatory": {"type": "string", "maxLength": 300},
    },
}

RECEIPT = {
    "type": "object",
    "required": ["id", "protocol", "state", "submitted_at", "digest"],
    "properties": {
        "id": {"type": "integer"},
        "protocol": {"type": "string", "examples": ["PSM2019-0042"]},
        "state": {"type": "string", "enum": ["submitted", "withdrawn"]},
        "channel": {"type": "string"},
        "submitted_at": {"type": "string", "format": "date-time"},
        "received_at": {"type": "string", "format": "date-time"},
        "late": {"type": "boolean"},
        "digest": {"type": "string", "description": "SHA-256 of what was registered."},
        "verification_code": {
            "type": "string",
            "description": "Only in the answer to the submission.",
        },
        "receipt_url": {"type": "string", "format": "uri"},
    },
}


_LIMIT = {
    "name": "limit",
    "in": "query",
    "required": False,
    "description": "Items per page (observations for points).",
    "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
}
_CURSOR = {
    "name": "cursor",
    "in": "query",
    "required": False,
    "description": "The `next_cursor` of the previous page (opaque).",
    "schema": {"type": "string", "maxLength": 40},
}
_NOT_MODIFIED = {"304": {"description": "Not modified (the `If-None-Match` ETag matches)."}}


def _open(summary: str, operation_id: str, description: str, item: str, paged: bool) -> dict:
    properties = {item: {"type": "array", "items": {"type": "object"}}} if paged else {}
    if paged:
        properties["next_cursor"] = {"type": ["string", "null"]}
    parameters = [_path_int("round_id")] if operation_id != "listOpenRounds" else []
    if paged:
        parameters += [_LIMIT, _CURSOR]
    return {
        "get": {
            "summary": summary,
            "description": description,
            "operationId": operation_id,
            "security": [],
            "tags": ["open data"],
            "parameters": parameters,
            "responses": {
                "200": _json(summary, {"type": "object", "properties": properties}),
                **_NOT_MODIFIED,
                **_errors("400", "404", "429"),
            },
        }
    }


#: The open-data API (app/reports/opendata.py): public, read-only, concluded rounds only.
OPEN_PATHS = {
    "/open/rounds": _open(
        "Concluded public rounds",
        "listOpenRounds",
        "Each with its plan, consulted and response version numbers, report and downloads.",
        "rounds",
        True,
    ),
    "/open/rounds/{round_id}": _open(
        "A concluded public round",
        "getOpenRound",
        "Its plan, versions, report and bulk downloads (CSV, JSON Lines).",
        "round",
        False,
    ),
    "/open/rounds/{round_id}/points": _open(
        "The round's points with their outcomes",
        "listOpenRoundPoints",
        "One row per point (one per observation not admissible), as in docs/exports.md.",
        "points",
        True,
    ),
    "/open/rounds/{round_id}/changes": _open(
        "The response version's stored changes",
        "listOpenRoundChanges",
        "Each change with its stable id, the paragraph keys on each side, its words and the "
        "points whose published decision links to it.",
        "changes",
        True,
    ),
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Traccia API: intake and open data",
            "version": "1.0.0",
            "description": (
                "Lets an integration (e.g. the body's records-management system) list "
                "consultation rounds and submit observations. Authenticate with a personal API "
                "token: `Authorization: Bearer trc_…`. POST requests honour an "
                "`Idempotency-Key` header: a retry with the same key and body gets the first "
                "answer (with `Idempotent-Replayed: true`) and changes nothing. The `/open/…` "
                "paths are the open-data API: public (no token), read-only, for concluded "
                "rounds, paginated by cursor, with ETags."
            ),
        },
        "servers": [{"url": current_app.config["TRACCIA_BASE_URL"] + "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/me": {
                "get": {
                    "summary": "The user the token acts as",
                    "operationId": "getMe",
                    "responses": {
                        "200": {
                            "description": "The token's user.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Me"}}
                            },
                        },
                        **_errors("401", "429"),
                    },
                }
            },
            "/rounds": {
                "get": {
                    "summary": "The rounds the token's user may see",
                    "operationId": "listRounds",
                    "responses": {
                        "200": _json(
                            "The rounds.",
                            {
                                "type": "object",
                                "properties": {"rounds": {"type": "array", "items": _ref("Round")}},
                            },
                        ),
                        **_errors("401", "429"),
                    },
                }
            },
            "/rounds/{round_id}": {
                "get": {
                    "summary": "A round, with its text's sections and paragraph keys",
                    "operationId": "getRound",
                    "parameters": [_path_int("round_id")],
                    "responses": {
                        "200": _json("The round and its text.", _ref("RoundDetail")),
                        **_errors("401", "404", "429"),
                    },
                }
            },
            "/rounds/{round_id}/observations": {
                "post": {
                    "summary": "Submit an observation (or, for staff, record one received "
                    "by PEC, letter, e-mail or meeting)",
                    "operationId": "submitObservation",
                    "parameters": [
                        _path_int("round_id"),
                        {"$ref": "#/components/parameters/IdempotencyKey"},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ObservationInput")}},
                    },
                    "responses": {
                        "201": _json("Registered: the receipt.", _ref("Receipt")),
                        **_errors("400", "401", "403", "404", "409", "413", "415", "422", "429"),
                    },
                }
            },
            "/observations/{protocol}": {
                "get": {
                    "summary": "An observation's receipt and state, by protocol number",
                    "operationId": "getObservation",
                    "parameters": [
                        {
                            "name": "protocol",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "examples": ["PSM2019-0042"]},
                        }
                    ],
                    "responses": {
                        "200": _json("The receipt.", _ref("Receipt")),
                        **_errors("401", "404", "429"),
                    },
                }
            },
            **OPEN_PATHS,
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "getOpenApi",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "1 to 255 printable ASCII characters; a retry with the "
                    "same key and body gets the first answer.",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": "^[\\x20-\\x7e]+$",
                    },
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["status", "code", "title", "message"],
                            "properties": {
                                "status": {"type": "integer"},
                                "code": {"type": "string", "examples": ["invalid_input"]},
                                "title": {"type": "string"},
                                "message": {"type": "string"},
                                "fields": {
                                    "type": "object",
                                    "additionalProperties": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                    },
                                },
                            },
                        }
                    },
                },
                "Round": ROUND,
                "RoundDetail": {
                    "allOf": [
                        _ref("Round"),
                        {
                            "type": "object",
                            "properties": {
                                "sections": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "key": {"type": "string"},
                                            "number": {"type": "string"},
                                            "title": {"type": "string"},
                                            "parent": {"type": ["string", "null"]},
                                            "paragraphs": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": {
                                                        "key": {"type": "string"},
                                                        "text": {"type": "string"},
                                                    },
                                                },
                                            },
                                        },
                                    },
                                }
                            },
                        },
                    ]
                },
                "ObservationInput": OBSERVATION_INPUT,
                "Receipt": RECEIPT,
                "Me": {
                    "type": "object",
                    "required": ["id", "email", "display_name", "roles"],
                    "properties": {
                        "id": {"type": "integer"},
                        "email": {"type": "string", "format": "email"},
                        "display_name": {"type": "string"},
                        "roles": {"type": "array", "items": {"type": "string"}},
                        "organisation": {
                            "type": ["object", "null"],
                            "properties": {
                                "id": {"type": "integer"},
                                "name": {"type": "string"},
                                "kind": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    }
