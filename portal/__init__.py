"""The portal: study quizzes, contests, pledges and certificates."""

import os
import secrets

from flask import Flask
from werkzeug.routing import IntegerConverter

from . import config as default_config


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route. Ids and places are 32-bit columns: a larger number matches no route (404)
    rather than reaching the database (SQLite cannot even compare one past 2**63: OverflowError, a 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(test_config=None):
    """Build the app: config, database, login, CSRF, i18n, blueprints, CLI, errors.

    Touches no data: creating or upgrading the schema is `portal init-db`.
    """
    instance_path = os.environ.get("PORTAL_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    app = Flask(__name__, instance_path=os.path.abspath(instance_path), instance_relative_config=True)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.from_object(default_config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PORTAL")
    if test_config is not None:
        app.config.from_mapping(test_config)
    _load_secret_key(app)

    from . import db, extensions, formatting, security
    from . import jobs
    from .accounts.admin_views import admin
    from .accounts.roster_views import members
    from .accounts.views import auth
    from .quiz.api import quiz_api
    from .quiz.manage_views import quiz_admin
    from .quiz import results_views  # noqa: F401 (adds the results pages to quiz_admin)
    from .quiz import survey_views  # noqa: F401 (adds the survey results pages to quiz_admin)
    from .quiz.views import quiz
    from .contests.manage_views import contest_admin
    from .contests import public_views, results_views  # noqa: F401 (rankings, prizes and published results)
    from .contests import export_views  # noqa: F401 (adds the results downloads to contest_admin)
    from .contests.views import contests
    from .contests import member_views, setup_views  # noqa: F401 (contest set-up and contestants' pages)
    from .contests import registration, registration_views  # noqa: F401 (permission hooks; registration pages)
    from .contests import stats_views  # noqa: F401 (statistics per unit and collective prizes)
    from .contests import certificate_views  # noqa: F401 (the contest's certificate texts, issuing, downloads)
    from .certificates.views import certificate_admin, certificates
    from .pledges.blueprints import pledge_admin, pledges
    from .pledges import review_views, views as pledge_views  # noqa: F401 (members' and secretaries' pledge pages)
    from .pledges import manage_views as pledge_manage_views  # noqa: F401 (periods, committee board, XLSX)
    from .pledges import document_views, unit_views  # noqa: F401 (pledge PDFs; unit pledges' pages)
    from .pledges import commend_views  # noqa: F401 (commendations: certificates of merit from evaluated pledges)
    from .pledges import exemplary_views  # noqa: F401 (exemplary models: stories, showcase, yearbook)

    db.init_app(app)
    extensions.init_app(app)
    formatting.init_app(app)
    security.init_app(app)
    app.register_blueprint(auth)
    app.register_blueprint(admin)
    app.register_blueprint(members)
    app.register_blueprint(quiz_admin)
    app.register_blueprint(quiz)
    app.register_blueprint(quiz_api)
    app.register_blueprint(contest_admin)
    app.register_blueprint(contests)
    app.register_blueprint(certificates)
    app.register_blueprint(certificate_admin)
    app.register_blueprint(pledges)
    app.register_blueprint(pledge_admin)
    app.register_blueprint(jobs.blueprint)
    jobs.init_app(app)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0, x_port=0, x_prefix=0)

    from .cli import register

    register(app)
    return app


def _load_secret_key(app):
    """Use the configured key, else instance/secret_key (made on first run).

    Outside debug and tests, refuse the development key.
    """
    key = app.config.get("SECRET_KEY")
    if not key:
        path = os.path.join(app.instance_path, "secret_key")
        os.makedirs(app.instance_path, exist_ok=True)
        try:
            with open(path) as fh:
                key = fh.read().strip()
        except FileNotFoundError:
            key = _create_secret_key(path)
        app.config["SECRET_KEY"] = key
    weak = key == default_config.DEV_SECRET_KEY or len(key) < 32 or key.lower().startswith("change-me")
    if not (app.debug or app.testing) and weak:
        raise RuntimeError(
            "Refusing to start with a development SECRET_KEY (or the example's, or one under 32 characters). "
            "Remove it from the configuration to have one generated in the instance folder, or set "
            "PORTAL_SECRET_KEY to a long random value: python -c \"import secrets; print(secrets.token_hex(32))\"."
        )


def _create_secret_key(path):
    key = secrets.token_hex(32)
    # Written aside, then linked into place: a process starting at the same
    # moment sees either no file or the whole key, never an empty one.
    tmp = f"{path}.{os.getpid()}.tmp"
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(key)
    try:
        os.link(tmp, path)
    except FileExistsError:  # another process won the race
        with open(path) as fh:
            key = fh.read().strip()
    finally:
        os.unlink(tmp)
    return key
