"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from flask import current_app

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


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Traccia intake API",
            "version": "1.0.0",
            "description": (
                "Lets an integration (e.g. the body's records-management system) list "
                "consultation rounds and submit observations. Authenticate with a personal API "
                "token: `Authorization: Bearer trc_…`. POST requests honour an "
                "`Idempotency-Key` header: a retry with the same key and body gets the first "
                "answer (with `Idempotent-Replayed: true`) and changes nothing."
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
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
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
