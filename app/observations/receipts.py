"""What a receipt proves: the digest of exactly what was submitted, and the verification code.

The digest is the SHA-256 of a canonical JSON document (keys sorted, UTF-8, no spaces):
protocol, round, organisation, kind, anchor (section key, paragraph key, quoted passage and its
offsets), title, text (the cleaned HTML), proposed text, consent, submission time (UTC, ISO
8601), and each attachment's name, type, size and SHA-256. Anyone holding the submission can
recompute it: ``canonical_submission`` is the whole recipe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from flask import current_app

from app.observations.models import Observation


def canonical_submission(
    observation: Observation, *, protocol_code: str | None = None, submitted_at=None
) -> bytes:
    """The canonical document; ``protocol_code`` and ``submitted_at`` may be given before they
    are stored (the digest is computed as the observation is registered)."""
    submitted_at = submitted_at or observation.submitted_at
    document = {
        "protocol": protocol_code or observation.protocol_code,
        "round": observation.round_id,
        "organisation": observation.organisation_id,
        "kind": observation.kind.value,
        "target": observation.target.value,
        "section": observation.section.key if observation.section else None,
        "paragraph": observation.paragraph.key if observation.paragraph else None,
        "quote": (
            {
                "text": observation.quote_text,
                "start": observation.quote_start,
                "end": observation.quote_end,
            }
            if observation.quote_text is not None
            else None
        ),
        "title": observation.title,
        "text": observation.body_html,
        "proposed_text": observation.proposed_text,
        "consent_public_name": observation.consent_public_name,
        "submitted_at": submitted_at.isoformat() if submitted_at else None,
        "attachments": [
            {"name": a.filename, "type": a.content_type, "size": a.size, "sha256": a.sha256}
            for a in observation.attachments
        ],
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(observation: Observation, **overrides) -> str:
    return hashlib.sha256(canonical_submission(observation, **overrides)).hexdigest()


def verification_code(protocol_code: str) -> str:
    """A code only the receipt holder knows, derived from the secret key (so it can be shown
    again to the author), e.g. ``K7QF2-M9XTA``."""
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"receipt:{protocol_code}".encode(), hashlib.sha256).digest()
    code = base64.b32encode(mac).decode()[:10]
    return f"{code[:5]}-{code[5:]}"


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def code_matches(observation: Observation, code: str) -> bool:
    if not observation.verification_hash or not code:
        return False
    return hmac.compare_digest(observation.verification_hash, hash_code(code))
