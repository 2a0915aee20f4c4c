"""What WeasyPrint may read while rendering a certificate: data: URIs and portal/static/, nothing else.

A refused URL never stops a certificate: it renders without the resource, the refusal is logged.
"""

import http.server
import logging
import socket
import subprocess
import threading

import pytest

from portal import documents
from portal.certificates import render

FORBIDDEN = [
    "file:///etc/passwd",
    "file://otherhost/etc/passwd",
    (documents.STATIC_DIR / ".." / ".." / "pyproject.toml").as_uri(),  # climbs out of static/
    documents.STATIC_DIR.as_uri() + "/../__init__.py",
    "http://127.0.0.1:5000/static/favicon.svg",  # the portal itself: loopback
    "http://localhost/",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    "https://example.com/logo.png",
    "ftp://example.com/logo.png",
    "gopher://127.0.0.1:6379/_FLUSHALL",
]


def pdf_text(content, tmp_path):
    path = tmp_path / "out.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(autouse=True)
def fresh_image_cache():
    """Each test asks for its URLs afresh: the renderer remembers images (refused ones too) per process."""
    render._engine()["cache"].clear()


@pytest.fixture
def no_network(monkeypatch):
    """Record (and block) every outgoing connection the code under test tries."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.mark.parametrize("url", FORBIDDEN)
def test_the_fetcher_refuses_each_forbidden_url(url, no_network):
    fetcher = documents.url_fetcher(fail_on_errors=False)
    with pytest.raises(documents.FetchRefused):
        fetcher(url)
    assert no_network == []


@pytest.mark.parametrize("url", FORBIDDEN)
@pytest.mark.parametrize("markup", ['<img src="{url}" alt="">',
                                    '<link rel="stylesheet" href="{url}">',
                                    '<style>@import url("{url}");</style>',
                                    '<div style="background: url(\'{url}\')">x</div>',
                                    '<style>@font-face {{ font-family: X; src: url("{url}"); }} '
                                    'p {{ font-family: X; }}</style>'])
def test_a_certificate_renders_without_a_forbidden_resource(url, markup, no_network, caplog, tmp_path):
    html = f"<html><body><p>Giấy khen vẫn in được</p>{markup.format(url=url)}</body></html>"
    with caplog.at_level(logging.WARNING, logger="portal.documents"):
        content = render.html_to_pdf(html)
    assert "Giấy khen vẫn in được" in pdf_text(content, tmp_path)
    assert no_network == []
    assert any("refused" in message for message in caplog.messages)


class _Redirector(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", "file:///etc/passwd")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_local_server_that_redirects_is_never_asked(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/logo.png"
        content = render.html_to_pdf(f'<p>Mã xác thực</p><img src="{url}">')
    finally:
        server.shutdown()
        server.server_close()
    assert "Mã xác thực" in pdf_text(content, tmp_path)
    assert _Redirector.hits == []


def test_a_link_out_of_the_root_is_refused(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("mật khẩu")
    (root / "innocent.css").symlink_to(secret)
    (root / "ok.css").write_text("p { color: red }")
    fetcher = documents.url_fetcher(root, fail_on_errors=False)
    with pytest.raises(documents.FetchRefused):
        fetcher((root / "innocent.css").as_uri())
    response = fetcher((root / "ok.css").as_uri())
    assert response.read() == b"p { color: red }"
    response.close()


def test_the_bundled_fonts_and_data_uris_are_served(tmp_path):
    content = render.render_certificate(render.sample_data())
    (tmp_path / "c.pdf").write_bytes(content)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "c.pdf")], capture_output=True, text=True, check=True).stdout
    assert "Noto-Serif" in fonts and "Noto-Serif-Bold" in fonts and "Noto-Serif-Italic" in fonts


@pytest.mark.parametrize("field", ["recipient_name", "recipient_unit", "achievement", "signer_name"])
def test_markup_in_a_snapshot_prints_as_text(field, no_network, tmp_path):
    evil = '<img src="file:///etc/passwd">'
    content = render.render_certificate(render.sample_data({field: evil}))
    assert evil in pdf_text(content, tmp_path)
    assert evil not in render.document_html(render.sample_data({field: evil}))
    assert no_network == []


def test_the_results_sheets_still_stop_at_a_forbidden_resource():
    with pytest.raises(documents.DocumentError, match="refused"):
        documents.render_pdf('<p>x</p><img src="http://169.254.169.254/latest/meta-data/">')
