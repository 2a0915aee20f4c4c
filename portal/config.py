"""Default settings.

Order of precedence (later wins): these defaults, ``instance/config.py``,
``PORTAL_*`` environment variables (``PORTAL_DATABASE_URL=...``; values are
parsed as JSON when they can be, so ``PORTAL_LOGIN_MAX_FAILURES=10`` is an
int), then the mapping passed to ``create_app`` by the tests.
"""

# The key used by tests and `flask --debug`; a production start refuses it.
DEV_SECRET_KEY = "dev"

SECRET_KEY = None  # generated into instance/secret_key on first run when unset

# None means SQLite at instance/portal.db; otherwise a URL such as
# sqlite:////srv/portal/portal.db or postgresql://user@host:5432/portal
DATABASE_URL = None
SQLITE_BUSY_TIMEOUT_MS = 10_000
# NORMAL in WAL mode never corrupts and loses nothing on a process crash; a
# power cut can lose the last transactions. FULL trades speed for that.
SQLITE_SYNCHRONOUS = "NORMAL"
# PostgreSQL: the statements every request runs are prepared on the server, once per connection. Set False
# behind a pooler that hands one client's statements to several server connections (PgBouncer in
# transaction or statement mode): a statement prepared on one would be missing on the next.
DATABASE_PREPARE = True

BABEL_DEFAULT_LOCALE = "vi"
BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

SESSION_COOKIE_NAME = "portal_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False  # set True behind HTTPS
REMEMBER_COOKIE_NAME = "portal_remember"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_SECURE = False
REMEMBER_COOKIE_DURATION = 30 * 24 * 3600
PERMANENT_SESSION_LIFETIME = 12 * 3600

# Tokens live as long as the session: a long contest must not lose its final
# submission to an expired token.
WTF_CSRF_TIME_LIMIT = None

# Uploads (rosters, question banks) larger than this get 413.
MAX_CONTENT_LENGTH = 5 * 1024 * 1024
ROSTER_MAX_ROWS = 20_000

# Login throttling, counted in the database so it holds across workers and hosts.
LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = 5
LOGIN_MAX_FAILURES_PER_ADDRESS = 30
LOGIN_MAX_FAILURES_PER_ACCOUNT = 50  # not applied to addresses the account used before

# Flask-Limiter: memory:// counts in each server process (SERVE_WORKERS of them), redis://127.0.0.1:6379
# counts once for all of them and for every host.
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = True
# Login requests per address. Wrong passwords are throttled per account and address above; this only stops a
# flood. A school's computer room or a commune office shares one public address, and at a round's start
# everyone there logs in within the same minute: keep it well above the size of such a room.
RATELIMIT_LOGIN = "300 per minute"
RATELIMIT_QUIZ_START = "30 per minute"  # starting (or resuming) attempts, per account
RATELIMIT_REGISTER = "10 per hour"  # public contest registrations, per address
RATELIMIT_VERIFY = "30 per minute"  # public certificate verification pages, per address

# Behind a reverse proxy (nginx, a load balancer) set how many proxies in front of the app set
# X-Forwarded-For / X-Forwarded-Proto (usually 1): the client's address then drives rate limits, login
# throttling and the audit log, not the proxy's. 0 trusts no such header (the app faces clients directly).
PROXY_COUNT = 0

# `portal serve`
SERVE_BIND = "127.0.0.1:5000"
# Chosen by measurement on 2 cores (bench/results/2026-11-30-2cores-*, answer-save): 4 × 2 served 12% more
# saves and submits than 2 × 4 (the threads of one process share one interpreter lock); 4 × 1 a few more
# still, but one slow request (an export) would then hold a whole process.
SERVE_WORKERS = 4
SERVE_THREADS = 2
# gunicorn's access log: None (nginx in front logs every request; this costs ~5% of a request's CPU), or
# "-" for standard output, or a file path.
SERVE_ACCESS_LOG = None

# Shown on the credentials sheet so new members know where to log in.
PUBLIC_URL = "http://127.0.0.1:5000"
ORGANISATION_NAME = "Cổng học tập và làm theo"

# Background jobs (bulk certificate PDFs) go through a Huey queue. Empty: SQLite at instance/jobs.db, for one
# host; redis://127.0.0.1:6379/1 shares the queue between app hosts.
JOBS_URL = ""
JOBS_QUEUE = "portal"  # the queue's name: deployments that share one Redis need different names
JOBS_IMMEDIATE = None  # run each job inline in the request: None means only under TESTING
JOBS_WORKERS = 1  # jobs `portal worker` runs at once
JOBS_RENDER_PROCESSES = 2  # processes rendering one job's pages (up to the number of cores)
JOBS_EMBEDDED_WORKER = True  # `portal serve` runs `portal worker` beside gunicorn and stops it with the server
JOBS_KEEP_DAYS = 7  # jobs and their files are deleted after this many days
