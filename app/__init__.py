"""Traccia: consultation rounds on draft plans, with every observation traced to its outcome."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from config import Config, config_from_environment

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    config_class = config_class or config_from_environment()
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config_class)
    app.config.update(overrides)
    config_class.finalise(app.config)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    _configure_logging(app)
    from app.core import db as db_module

    db_module.SQLITE_BUSY_TIMEOUT_MS = app.config["SQLITE_BUSY_TIMEOUT_SECONDS"] * 1000

    from app.core.bounds import init_bounds

    init_bounds(app)  # the bounded int converter must be there before any route
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)

    from app.core.errors import init_errors
    from app.core.security import init_security
    from app.core.templating import init_templating

    init_security(app)
    init_errors(app)
    init_templating(app)
    if app.config["BENCH_SQL_COUNT"]:
        from app.core.sqlcount import init_sql_count

        init_sql_count(app)
    return app


def _configure_logging(app: Flask) -> None:
    level = app.config.get("LOG_LEVEL", "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for chatty in ("weasyprint", "fontTools"):  # a line per layout step and font subset
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _init_extensions(app: Flask) -> None:
    from app import models  # noqa: F401 - every model registered before the first query
    from app.accounts.auth import init_login
    from app.core.i18n import select_locale
    from app.core.ratelimit import limiter
    from app.extensions import babel, csrf, db, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    init_login(app)


def _register_blueprints(app: Flask) -> None:
    from app import home  # noqa: F401 - the home page joins core's blueprint
    from app.accounts.audit_routes import bp as audit_bp
    from app.accounts.routes import admin_bp
    from app.accounts.routes import bp as accounts_bp
    from app.api import consultations, routes  # noqa: F401 - they add the API's endpoints
    from app.api.blueprints import admin_bp as api_tokens_bp
    from app.api.blueprints import bp as api_bp
    from app.core.routes import bp as core_bp
    from app.decisions.routes import bp as decisions_bp
    from app.moderation.point_routes import public_bp as publication_bp
    from app.moderation.routes import bp as moderation_bp
    from app.notifications.routes import bp as outbox_bp
    from app.observations.routes import bp as observations_bp
    from app.plans.routes import bp as plans_bp
    from app.reports.opendata import bp as opendata_bp
    from app.reports.routes import bp as reports_bp
    from app.rounds.routes import bp as rounds_bp
    from app.stakeholders.routes import bp as stakeholders_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(observations_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(stakeholders_bp)
    app.register_blueprint(plans_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(decisions_bp)
    app.register_blueprint(publication_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(opendata_bp)


def _register_cli(app: Flask) -> None:
    from app.accounts.cli import users_cli
    from app.bench_cli import bench_cli
    from app.cli import demo_cli, worker_cli
    from app.core.audit_cli import audit_cli
    from app.core.i18n_cli import i18n_cli
    from app.moderation.cli import moderation_cli
    from app.notifications.cli import outbox_cli
    from app.plans.cli import plans_cli
    from app.reports.cli import reports_cli
    from app.rounds.cli import rounds_cli
    from app.stakeholders.cli import orgs_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(i18n_cli)
    app.cli.add_command(rounds_cli)
    app.cli.add_command(worker_cli)
    app.cli.add_command(orgs_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(moderation_cli)
    app.cli.add_command(bench_cli)
    app.cli.add_command(plans_cli)
    app.cli.add_command(reports_cli)
