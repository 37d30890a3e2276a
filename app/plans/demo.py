"""The demo plan: the 2019-2021 update of the Piano Strategico Metropolitano of Milan.

Version 1 ("Bozza 2019") is frozen, as when a consultation round opens on it; version 2 is a
draft with the kind of edits that follow a consultation: one paragraph rewritten, one split,
two merged, one added and one removed. The text comes from the public documents in
``shared/seeds``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.plans import importers, operations
from app.plans.models import Plan, PolicyArea
from app.plans.tree import load_tree

SLUG = "psm-2019-2021"

DRAFT_2019 = """
# 1 Il Piano Strategico

Il Piano Strategico è lo strumento attraverso il quale Città metropolitana può agire in ottica di \
nuovo ente, per lo sviluppo strategico del territorio metropolitano.

Raccoglie la sfida del nuovo ruolo delle città metropolitane: essere ente funzionale e condurre \
politiche integrate e aperte al territorio, catalizzare risorse e progetti e attivare relazioni \
con altri livelli istituzionali, per dare risposte più adeguate ai bisogni dei Comuni, delle \
famiglie e delle imprese.

Il territorio metropolitano conta 133 comuni, più di tre milioni di abitanti e oltre trecentomila \
imprese attive.

## 1.1 Le fasi del processo

Il processo di costruzione del Piano si articola in quattro fasi: innesco, programmazione e avvio \
del processo; inventario di posizioni e prospettive (la Mappa delle idee); costruzione \
tecnico-politica del Piano; approvazione.

## 1.2 Idee guida

Milano metropolitana nodo della rete globale, città mondo: innovazione e inclusione \
economico-sociale.

Rigenerazione e trasformazione urbana, cura della città esistente e risparmio delle risorse, a \
partire dal suolo e dall'energia. Parchi nella prospettiva metropolitana: nuova vocazione per il \
Parco Sud e messa in rete dei PLIS.

Conclusione della stagione delle grandi opere infrastrutturali e priorità a interscambi, servizi \
di mobilità e integrazione tariffaria.

# 2 Ambiti di policy

## 2.1 Agile e performante

Semplificare procedure e accesso ai servizi.

Costruire una pubblica amministrazione aperta all'innovazione, veloce, trasparente ed efficace, \
attraverso un processo di forte semplificazione che preveda la drastica riduzione della \
burocrazia, la dematerializzazione e la digitalizzazione delle attività.

## 2.2 Creativa e innovativa

Collegare il sapere al saper fare.

Sostenere forme di imprenditorialità diffusa e nuova occupazione qualificata, attivando \
politiche orientate all'innovazione per mettere più efficacemente in connessione sapere e \
saper fare, lavorando sui fattori di competitività del territorio e incentivando le reti e i \
network d'impresa.

## 2.3 Attrattiva e aperta al mondo

Valorizzare le differenze e scambiare con i territori vicini e lontani.

Favorire lo sviluppo di una metropoli attrattiva e competitiva sul piano europeo e \
internazionale, in un'ottica di cooperazione con le grandi aree metropolitane internazionali, \
promuovendo gli investimenti, anche attraverso un nuovo approccio alle politiche europee.

## 2.4 Intelligente e sostenibile

Rigenerare territorio e ambiente.

Promuovere sviluppo sostenibile, attraverso l'esercizio delle rafforzate funzioni di \
pianificazione territoriale, il potenziamento dei parchi metropolitani, la valorizzazione del \
patrimonio anche in chiave di efficientamento energetico e di riduzione delle emissioni.

## 2.5 Veloce e integrata

Connettere persone, imprese, territori.

Connettere più efficacemente persone, imprese e territori attraverso infrastrutture e servizi \
sia di mobilità, a partire dal trasporto pubblico e dallo sviluppo dell'intermodalità, sia \
digitali, con il fondamentale sviluppo delle infrastrutture di banda larga.

## 2.6 Coesa e cooperante

Gestire in forma associata servizi e progetti di sviluppo.

Rafforzare la cooperazione e la gestione associata di servizi a livello intercomunale, a partire \
dall'avvio delle Zone omogenee.

In parallelo, consolidare il ruolo di Città metropolitana nella programmazione e gestione dei \
grandi servizi a rete.

# 3 Zone omogenee e piattaforme progettuali

Il Piano prevede agende territoriali per le zone omogenee: benessere collettivo senza rinunciare \
alle specificità territoriali.

Le piattaforme progettuali hanno un carattere trasversale, che supera i tradizionali modelli \
settoriali di organizzazione delle politiche, e rappresentano una base aperta sulla quale si \
possono integrare progettualità attraverso il contributo di una pluralità di soggetti.

# 4 Attuazione

Gli indirizzi e i progetti del Piano informano i contenuti del Documento Unico di \
Programmazione (DUP) e le prospettive di riorganizzazione della struttura interna.

Avendo costruito il Piano come un documento dal carattere operativo, è fondamentale la capacità \
di attivare progetti intersettoriali, chiamati a dare concreta attuazione alle previsioni del \
Piano.

L'esercizio di tale ruolo richiede la costruzione di accordi e di partenariato tra una varietà di \
soggetti, attraverso protocolli d'intesa, convenzioni e accordi di programma.
"""

POLICY_AREAS = {
    "2.1": PolicyArea.AGILE,
    "2.2": PolicyArea.CREATIVA,
    "2.3": PolicyArea.ATTRATTIVA,
    "2.4": PolicyArea.INTELLIGENTE,
    "2.5": PolicyArea.VELOCE,
    "2.6": PolicyArea.COESA,
}


def load_demo_plan(session: Session) -> list[str]:
    """Create the demo plan unless it is there; return what was created."""
    if session.scalar(select(Plan.id).where(Plan.slug == SLUG)) is not None:
        return []
    plan = operations.create_plan(
        session,
        title="Piano Strategico Metropolitano — Aggiornamento 2019-2021",
        slug=SLUG,
        owner="Città metropolitana di Milano",
        description=(
            "Milano metropolitana al futuro: l'aggiornamento triennale del Piano Strategico, "
            "discusso con il Tavolo metropolitano, le università e i comuni."
        ),
    )
    sections = importers.parse_markdown(DRAFT_2019.encode())
    specs = [
        operations.SectionSpec(
            s["level"],
            s["number"],
            s["title"],
            policy_area=POLICY_AREAS.get(s["number"]),
            paragraphs=[operations.ParagraphSpec(p["html"], p["text"]) for p in s["paragraphs"]],
        )
        for s in sections
    ]
    draft = operations.build_version(
        session, plan, label="Bozza 2019", predecessor=None, specs=specs
    )
    operations.freeze_version(session, draft)
    revision = operations.create_successor(session, draft, label="Bozza 2019 — revisione")
    _demo_edits(session, revision)
    return [f"plan {SLUG} (versions 1 and 2)"]


def _demo_edits(session: Session, version) -> None:
    tree = load_tree(session, version)
    by_number = {node.section.number: node for node in tree.walk()}

    intro = by_number["1"].paragraphs
    operations.update_paragraph(
        session,
        intro[2],
        html=(
            "Il territorio metropolitano conta 133 comuni, raggruppati in zone omogenee, più di "
            "tre milioni di abitanti e oltre trecentomila imprese attive."
        ),
        seen_lock=intro[2].lock_version,
    )

    ideas = by_number["1.2"].paragraphs[1]
    operations.split_paragraph(
        session,
        ideas,
        parts=[
            "Rigenerazione e trasformazione urbana, cura della città esistente e risparmio delle "
            "risorse, a partire dal suolo e dall'energia.",
            "Parchi nella prospettiva metropolitana: nuova vocazione per il Parco Sud, messa in "
            "rete dei PLIS e apertura dei parchi territoriali di Milano.",
        ],
        seen_lock=ideas.lock_version,
    )

    first, second = by_number["2.6"].paragraphs[1:3]
    operations.merge_with_next(
        session,
        first,
        seen_lock=first.lock_version,
        next_key=second.key,
        next_lock=second.lock_version,
    )

    operations.add_paragraph(
        session,
        by_number["2.5"].section,
        html=(
            "Sostenere l'integrazione tariffaria del trasporto pubblico su tutto il territorio "
            "metropolitano, in accordo con l'Agenzia del trasporto pubblico locale."
        ),
        after=by_number["2.5"].paragraphs[-1],
    )

    operations.delete_paragraph(session, by_number["4"].paragraphs[2])
