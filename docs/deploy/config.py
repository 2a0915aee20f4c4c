# /srv/portal/instance/config.py — the same file on every app host (keep it out of version control).
# Every value can also be given as an environment variable with the PORTAL_ prefix (PORTAL_SECRET_KEY=...).

# One key for all hosts: sessions are signed cookies, so a member logged in on one host is logged in on all.
# Generate once with: python -c "import secrets; print(secrets.token_hex(32))"
SECRET_KEY = "change-me-to-64-hex-characters"

# PostgreSQL shared by all hosts; "postgresql+pool://" keeps connections open between requests
# (a new PostgreSQL connection costs a process fork on the server).
DATABASE_URL = "postgresql+pool://portal:secret@10.0.0.10:5432/portal?max_connections=20&stale_timeout=300"

# Redis shared by all hosts: rate limits (counted once for the whole site) and the job queue.
RATELIMIT_STORAGE_URI = "redis://10.0.0.11:6379/0"
JOBS_URL = "redis://10.0.0.11:6379/1"
JOBS_EMBEDDED_WORKER = False  # run `portal worker` as its own service (portal-worker.service)

# nginx in front of every host sets X-Forwarded-For / X-Forwarded-Proto.
PROXY_COUNT = 1
SESSION_COOKIE_SECURE = True
REMEMBER_COOKIE_SECURE = True

PUBLIC_URL = "https://hoithi.example.vn"
ORGANISATION_NAME = "Cổng học tập và làm theo"

# gunicorn (`portal serve`): see docs/deploy.md for how these were chosen.
SERVE_BIND = "127.0.0.1:5000"
SERVE_WORKERS = 4
SERVE_THREADS = 2
