"""Plausible Italian planning prose from a seeded random generator (no external data)."""

from __future__ import annotations

import random

SUBJECTS = (
    "Il Piano",
    "La Città metropolitana",
    "Ciascun Comune",
    "La rete ecologica metropolitana",
    "Il sistema della mobilità",
    "La pianificazione comunale",
    "L'ambito di trasformazione",
    "Il Parco agricolo",
    "La zona omogenea",
    "Il consumo di suolo",
    "Il trasporto pubblico locale",
    "La rigenerazione urbana",
    "L'edilizia residenziale sociale",
    "Il sistema dei servizi sovracomunali",
)
VERBS = (
    "promuove",
    "individua",
    "tutela",
    "disciplina",
    "favorisce",
    "riduce",
    "coordina",
    "valorizza",
    "prevede",
    "garantisce",
    "incentiva",
    "definisce",
)
OBJECTS = (
    "la continuità dei corridoi ecologici",
    "il riuso delle aree dismesse",
    "l'accessibilità alle stazioni ferroviarie",
    "la qualità dei suoli agricoli",
    "i nodi di interscambio",
    "la permeabilità dei suoli urbanizzati",
    "le reti ciclabili di interesse sovracomunale",
    "il recupero dei centri storici",
    "la sicurezza idraulica del territorio",
    "i servizi di prossimità",
    "l'offerta abitativa a canone sostenibile",
    "la dotazione di verde pubblico",
    "i poli produttivi di rilievo metropolitano",
    "la logistica dell'ultimo miglio",
)
QUALIFIERS = (
    "in coerenza con il Piano territoriale regionale",
    "secondo criteri di perequazione territoriale",
    "nei limiti previsti dalla legge regionale 31/2014",
    "d'intesa con i Comuni interessati",
    "entro il periodo di validità del Piano",
    "con priorità per le aree già urbanizzate",
    "attraverso accordi di programma",
    "sulla base degli indicatori di monitoraggio",
    "tenendo conto delle specificità di ciascuna zona omogenea",
    "nel rispetto dei vincoli paesaggistici",
)
TOPICS = (
    "Consumo di suolo",
    "Rete ecologica",
    "Mobilità e trasporti",
    "Rigenerazione urbana",
    "Ambiti agricoli strategici",
    "Servizi sovracomunali",
    "Difesa del suolo",
    "Paesaggio e beni culturali",
    "Poli produttivi",
    "Casa e abitare",
    "Energia e clima",
    "Commercio e logistica",
)
OPINIONS = (
    "Si chiede di rivedere",
    "Si propone di integrare",
    "Si segnala l'opportunità di chiarire",
    "Si osserva che non è coerente",
    "Si chiede di sopprimere",
    "Si condivide, con riserva,",
    "Si propone di estendere",
    "Si chiede di precisare",
)
REASONS = (
    "perché penalizza i Comuni di minore dimensione",
    "in quanto contrasta con il piano di governo del territorio vigente",
    "poiché mancano risorse per l'attuazione",
    "per garantire la continuità con le previsioni del piano precedente",
    "alla luce dei dati più recenti sul pendolarismo",
    "per evitare un aggravio procedurale",
    "considerato il rischio idrogeologico dell'area",
    "a tutela delle attività agricole esistenti",
)


def sentence(rng: random.Random) -> str:
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    if rng.random() < 0.6:
        text += f" {rng.choice(QUALIFIERS)}"
    return text + "."


def paragraph(rng: random.Random, sentences: tuple[int, int] = (2, 5)) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(*sentences)))


def opinion(rng: random.Random, target: str | None = None) -> str:
    what = target or rng.choice(OBJECTS)
    return f"{rng.choice(OPINIONS)} {what} {rng.choice(REASONS)}."


def letter(rng: random.Random, paragraphs: tuple[int, int] = (1, 4)) -> list[str]:
    """An observation's text: paragraphs of opinions and supporting sentences."""
    return [
        " ".join([opinion(rng), *(sentence(rng) for _ in range(rng.randint(0, 3)))])
        for _ in range(rng.randint(*paragraphs))
    ]


def edit(rng: random.Random, text: str) -> str:
    """The same text lightly edited: a few words replaced, a sentence added or dropped."""
    words = text.split(" ")
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(len(words))
        words[index] = rng.choice(("non", "anche", "sempre", "prioritariamente", "comunque"))
    edited = " ".join(words)
    if rng.random() < 0.4:
        edited += " " + sentence(rng)
    return edited
