"""Images an organiser uploads for certificates (a border/background, a logo).

Checked by their content, never their name: only PNG and JPEG are accepted (an SVG can carry
scripts and external references, so it is refused), at most MAX_UPLOAD bytes and MAX_PIXELS pixels
(a small file that decompresses into a huge bitmap is refused before it is decoded). The picture is
downscaled to at most MAX_SIDE pixels on its long side (an A4 page at 300 dpi) and re-encoded, which
drops EXIF and other metadata (a phone photo's location, for one) and keeps certificates small.
Stored once per content: the same picture uploaded twice is one Asset.
"""

import hashlib
import io
import warnings

import peewee as pw
from flask_babel import gettext as _
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ..accounts import audit
from ..db import database
from ..errors import DomainError
from .models import Asset

MAX_UPLOAD = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # 8000 x 5000: more than any border needs, far below what exhausts memory
MAX_SIDE = 2480  # A4's long side at 300 dpi
JPEG_QUALITY = 85
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
# Modes each format stores as they are; anything else is converted first.
KEEP_MODES = {"PNG": ("1", "L", "LA", "P", "RGB", "RGBA"), "JPEG": ("L", "RGB")}


def _looks_like_svg(data):
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def _too_big():
    return DomainError(_("The image is too large: at most %(limit)s megapixels.", limit=MAX_PIXELS // 1_000_000))


def _open(data):
    """The decoded picture (format PNG or JPEG), or a DomainError that says what is wrong."""
    if not data:
        raise DomainError(_("The file is empty."))
    if len(data) > MAX_UPLOAD:
        raise DomainError(_("The image is larger than %(limit)s MB.", limit=MAX_UPLOAD // (1024 * 1024)))
    if _looks_like_svg(data):
        raise DomainError(_("SVG images are not accepted: please upload a PNG or JPEG image."))
    with warnings.catch_warnings():
        # Pillow only warns below twice its own limit; here anything above ours is refused anyway.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
        except Image.DecompressionBombError:
            raise _too_big() from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise DomainError(_("This file is not a PNG or JPEG image.")) from None
        width, height = image.size
        if width * height > MAX_PIXELS:  # checked on the header, before a single pixel is decoded
            raise _too_big()
        if image.format == "JPEG":
            image.draft(image.mode, (MAX_SIDE, MAX_SIDE))  # decode a big JPEG at a reduced scale
        # WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on for the whole process when imported: a
        # cut-off upload would then be stored with a grey band. Refuse it while checking (a brief,
        # process-wide switch; the pictures WeasyPrint loads were all checked here already).
        truncated_ok, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise DomainError(_("The image is damaged and cannot be read.")) from None
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
    return image


def prepare(data, max_side=MAX_SIDE):
    """(mime, width, height, bytes) of ``data`` checked, turned upright, downscaled to ``max_side`` pixels on
    its long side and re-encoded."""
    image = _open(data)
    kind = image.format
    image = ImageOps.exif_transpose(image)  # a phone photo keeps its orientation once EXIF is gone
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if image.mode not in KEEP_MODES[kind]:
        image = image.convert("RGBA" if kind == "PNG" else "RGB")
    out = io.BytesIO()
    if kind == "PNG":
        image.save(out, "PNG", optimize=image.width * image.height <= 4_000_000)
    else:
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return FORMATS[kind], image.width, image.height, out.getvalue()


def store_image(actor, data, owner_unit, address="", max_side=MAX_SIDE):
    """Check, downscale and store an uploaded image; the same picture twice is the same Asset."""
    mime, width, height, content = prepare(data, max_side)
    digest = hashlib.sha256(content).hexdigest()
    with database.atomic():
        asset = Asset.get_or_none(Asset.sha256 == digest)
        reused = asset is not None
        if asset is None:
            try:
                with database.atomic():
                    asset = Asset.create(sha256=digest, mime=mime, width=width, height=height, data=content,
                                         owner_unit=owner_unit, created_by=actor)
            except pw.IntegrityError:  # the same picture stored by someone else a moment ago
                asset, reused = Asset.get(Asset.sha256 == digest), True
        audit.record(actor, "certificate.image", f"asset:{asset.id}",
                     {"sha256": digest, "mime": mime, "width": width, "height": height,
                      "bytes": len(content), "uploaded_bytes": len(data), "reused": reused}, address)
    return asset
