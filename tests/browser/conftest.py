"""Browser tests: Debian's Chromium driven by pytest-playwright against a real server.

Playwright cannot download its own browsers on these machines, so the tests
launch /usr/bin/chromium (or $PORTAL_CHROMIUM). Without one they skip, unless
PORTAL_REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails.

Set PORTAL_SCREENSHOT_DIR to keep a copy of every screenshot outside pytest's
temporary folder (for looking at the pages).
"""

import contextlib
import os
import secrets
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal import db as dbmod
from portal import demo

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def find_chromium():
    """$PORTAL_CHROMIUM when set (only it), else Debian's chromium."""
    configured = os.environ.get("PORTAL_CHROMIUM")
    candidates = [configured] if configured is not None else [shutil.which("chromium"), "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium instead of a Playwright download."""
    path = find_chromium()
    if path is None:
        message = ("No Chromium found (install Debian's `chromium` package or set PORTAL_CHROMIUM): "
                   "browser tests skipped")
        if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail(message.replace("skipped", "required by PORTAL_REQUIRE_BROWSER=1"), pytrace=False)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS}


class LiveServer:
    """The portal served by werkzeug in a thread, on SQLite with the demo data."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    @contextlib.contextmanager
    def database(self):
        """Use the live server's database from the test (to arrange data)."""
        db = self.app.extensions["portal_db"]
        dbmod.database.initialize(db)
        with self.app.app_context(), db.connection_context():
            yield db


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("live") / "instance"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PORTAL_INSTANCE_PATH", str(instance))
        mp.delenv("PORTAL_DATABASE_URL", raising=False)
        app = create_app({
            "SECRET_KEY": secrets.token_hex(32),  # a production-like start: not testing, not debug
            "DATABASE_URL": None,
            # Later issues add many logins per minute; throttling has its own tests.
            "RATELIMIT_ENABLED": False,
        })
    server = LiveServer(app)
    with server.database() as db:
        dbmod.migrate(db)
        demo.load()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server.url


@pytest.fixture
def screenshot(tmp_path):
    """Save a full-page screenshot as NAME.png under the test's tmp dir; return its path."""
    extra = os.environ.get("PORTAL_SCREENSHOT_DIR")

    def screenshot(page, name):
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if extra:
            os.makedirs(extra, exist_ok=True)
            shutil.copy(path, os.path.join(extra, path.name))
        return path

    return screenshot
