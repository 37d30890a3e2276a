"""The demo consultation's first observation, registered by the Comune di Rho on the first
paragraph of the text, quoting its opening words."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.observations import operations
from app.observations.models import Observation, ObservationKind
from app.plans.tree import load_tree
from app.rounds.demo import PREFIX
from app.rounds.models import Round


def load_demo_observation(session: Session, referent_email: str) -> list[str]:
    round_ = session.scalar(select(Round).where(Round.protocol_prefix == PREFIX))
    referent = session.scalar(select(User).where(User.email == referent_email))
    if round_ is None or referent is None:
        return []
    if session.scalar(select(Observation.id).where(Observation.round_id == round_.id).limit(1)):
        return []
    tree = load_tree(session, round_.version)
    _, paragraph = next(tree.paragraphs())
    quote = " ".join(paragraph.text.split()[:6])
    draft = operations.start_draft(
        session,
        round_,
        author=referent,
        anchor=operations.resolve_anchor(session, round_, paragraph_key=paragraph.key, quote=quote),
    )
    operations.save_draft(
        session,
        draft,
        user=referent,
        title="Semplificazione: sportello unico metropolitano",
        body_html=(
            "<p>Il Comune di Rho chiede che la semplificazione delle procedure preveda uno "
            "sportello unico per le attività produttive su scala metropolitana, con "
            "standard uniformi per tutti i comuni.</p>"
        ),
        kind=ObservationKind.SUGGESTION,
        proposed_text=None,
        consent_public_name=True,
    )
    operations.submit(session, draft, actor=referent, send_receipt=False)
    return [f"observation {draft.protocol_code}"]
