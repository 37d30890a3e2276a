"""Keeping the translation catalogues complete: ``flask i18n update`` and ``flask i18n check``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from babel.messages.pofile import read_po, write_po
from flask import current_app
from flask.cli import AppGroup

i18n_cli = AppGroup("i18n", help="Translation catalogues.")

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "app" / "translations"
TEMPLATE = CATALOGUES / "messages.pot"
#: The language the message ids are written in: its catalogue is filled from the ids.
SOURCE_LANGUAGE = "en"


def catalogue_path(locale: str) -> Path:
    return CATALOGUES / locale / "LC_MESSAGES" / "messages.po"


def catalogue_problems(locale: str) -> list[str]:
    """Untranslated, fuzzy or obsolete-only entries of a catalogue, one line each."""
    with catalogue_path(locale).open("rb") as handle:
        catalogue = read_po(handle, locale=locale)
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"{locale}: fuzzy: {message.id!r}")
        elif not all(strings):
            problems.append(f"{locale}: untranslated: {message.id!r}")
    return problems


def _pybabel(*args: str) -> None:
    command = [sys.executable, "-m", "babel.messages.frontend", "--quiet", *args]
    subprocess.run(command, check=True, cwd=ROOT)  # noqa: S603 - fixed arguments, no shell


@i18n_cli.command("update")
def update() -> None:
    """Extract the messages and merge them into every catalogue."""
    _pybabel(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "_l",
        "-k",
        "lazy_gettext",
        "--no-location",
        "--sort-output",
        "--project",
        "Traccia",
        "-o",
        str(TEMPLATE),
        ".",
    )
    for locale in current_app.config["LANGUAGES"]:
        _pybabel(
            "update",
            "-i",
            str(TEMPLATE),
            "-d",
            str(CATALOGUES),
            "-l",
            locale,
            "--no-fuzzy-matching",
            "--ignore-obsolete",
        )
    _fill_source_language()
    for locale in current_app.config["LANGUAGES"]:
        for problem in catalogue_problems(locale):
            click.echo(problem)


def _fill_source_language() -> None:
    """The ids are English: the English catalogue repeats them, so it is always complete."""
    path = catalogue_path(SOURCE_LANGUAGE)
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=SOURCE_LANGUAGE)
    for message in catalogue:
        if message.id:
            message.string = message.id
            message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalogue, no_location=True, sort_output=True, width=100)


@i18n_cli.command("check")
def check() -> None:
    """Fail when a catalogue has untranslated or fuzzy entries."""
    problems = [p for locale in current_app.config["LANGUAGES"] for p in catalogue_problems(locale)]
    for problem in problems:
        click.echo(problem)
    if problems:
        raise click.ClickException(f"{len(problems)} catalogue entries need work")
    click.echo("catalogues complete")
