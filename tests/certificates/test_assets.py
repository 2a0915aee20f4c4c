"""Uploaded certificate images: checked by content, limited, downscaled, stripped, stored once."""

import io
import random
import struct
import zlib

import pytest
from PIL import Image

from portal.accounts.models import AuditLog
from portal.certificates import assets, render
from portal.certificates.models import Asset
from portal.errors import DomainError


def encode(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png(size=(400, 300), color=(200, 16, 46), **options):
    return encode(Image.new("RGB", size, color), "PNG", **options)


def jpeg(size=(400, 300), color=(200, 16, 46), **options):
    return encode(Image.new("RGB", size, color), "JPEG", **options)


def png_claiming(width, height):
    """A tiny PNG whose header announces ``width`` x ``height`` pixels (a decompression bomb's shape)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


@pytest.fixture
def organiser(make_user, make_unit):
    committee = make_unit(kind="committee", name="Đảng bộ huyện Hiệp Đức")
    return make_user(role="organiser", unit=committee)


def test_a_png_is_stored_as_png(organiser):
    asset = assets.store_image(organiser, png(), organiser.unit)
    assert (asset.mime, asset.width, asset.height) == ("image/png", 400, 300)
    assert Image.open(io.BytesIO(bytes(asset.data))).format == "PNG"
    assert asset.owner_unit_id == organiser.unit_id and asset.created_by_id == organiser.id


def test_a_jpeg_is_reencoded_without_its_metadata(organiser):
    exif = Image.Exif()
    exif[0x010F] = "Máy ảnh của đồng chí"  # Make
    exif[0x8825] = {2: (16.0, 4.0, 0.0), 4: (108.0, 12.0, 0.0)}  # GPS position
    original = jpeg(exif=exif.tobytes(), quality=100)
    asset = assets.store_image(organiser, original, organiser.unit)
    stored = Image.open(io.BytesIO(bytes(asset.data)))
    assert asset.mime == "image/jpeg" and stored.format == "JPEG"
    assert not stored.getexif() and b"Exif" not in bytes(asset.data)
    assert len(asset.data) < len(original)


def test_png_text_chunks_are_dropped(organiser):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "Bí mật nội bộ")
    asset = assets.store_image(organiser, png(pnginfo=info), organiser.unit)
    assert "Author" not in Image.open(io.BytesIO(bytes(asset.data))).info
    assert b"Author" not in bytes(asset.data)


def test_a_photo_taken_sideways_is_stored_upright(organiser):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    asset = assets.store_image(organiser, jpeg(size=(200, 100), exif=exif.tobytes()), organiser.unit)
    assert (asset.width, asset.height) == (100, 200)


@pytest.mark.parametrize("make, size, expected", [
    (png, (3000, 1000), (2480, 827)),
    (jpeg, (1500, 4000), (930, 2480)),
])
def test_big_pictures_are_downscaled(organiser, make, size, expected):
    asset = assets.store_image(organiser, make(size=size), organiser.unit)
    assert (asset.width, asset.height) == expected
    assert Image.open(io.BytesIO(bytes(asset.data))).size == expected


def test_the_same_picture_twice_is_one_asset(organiser):
    first = assets.store_image(organiser, png(), organiser.unit)
    second = assets.store_image(organiser, png(), organiser.unit)
    assert first.id == second.id and Asset.select().count() == 1
    entries = list(AuditLog.select().where(AuditLog.action == "certificate.image").order_by(AuditLog.id))
    assert len(entries) == 2 and entries[0].actor_id == organiser.id
    assert '"reused": false' in entries[0].details and '"reused": true' in entries[1].details
    assert first.sha256 in entries[0].details


def test_the_content_decides_not_the_name(organiser):
    # A JPEG is a JPEG whatever it was called; a GIF is refused even if named .png.
    assert assets.store_image(organiser, jpeg(), organiser.unit).mime == "image/jpeg"
    gif = encode(Image.new("P", (10, 10)), "GIF")
    with pytest.raises(DomainError, match="PNG"):
        assets.store_image(organiser, gif, organiser.unit)


@pytest.mark.parametrize("data", [
    b'<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>',
    b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    b"  <!DOCTYPE svg><svg></svg>",
])
def test_svg_is_refused_with_a_message_naming_png_and_jpeg(organiser, data):
    with pytest.raises(DomainError) as refused:
        assets.store_image(organiser, data, organiser.unit)
    assert "SVG" in str(refused.value) and "PNG" in str(refused.value) and "JPEG" in str(refused.value)
    assert Asset.select().count() == 0


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7 not a picture", b"GIF89a" + b"\0" * 100,
                                  png()[:200], jpeg()[:300]])
def test_other_files_and_damaged_pictures_are_refused(organiser, data):
    with pytest.raises(DomainError):
        assets.store_image(organiser, data, organiser.unit)
    assert Asset.select().count() == 0 and AuditLog.select().where(AuditLog.action == "certificate.image").count() == 0


def test_a_cut_off_upload_is_refused_even_after_weasyprint_is_loaded(organiser):
    import weasyprint  # noqa: F401 (sets Pillow's LOAD_TRUNCATED_IMAGES for the whole process)

    noise = Image.frombytes("RGB", (300, 200), random.Random(1).randbytes(300 * 200 * 3))
    for fmt in ("PNG", "JPEG"):
        whole = encode(noise, fmt)
        with pytest.raises(DomainError):
            assets.store_image(organiser, whole[: len(whole) // 2], organiser.unit)
    assert Asset.select().count() == 0


def test_more_than_5_mb_is_refused_before_decoding(organiser, monkeypatch):
    def must_not_open(*args, **kwargs):
        raise AssertionError("decoded an oversized upload")

    monkeypatch.setattr(Image, "open", must_not_open)
    with pytest.raises(DomainError, match="5"):
        assets.store_image(organiser, b"\x89PNG\r\n\x1a\n" + b"\0" * (5 * 1024 * 1024), organiser.unit)


@pytest.mark.parametrize("size", [(30_000, 30_000), (100_000, 1_000)])
def test_a_decompression_bomb_is_refused_by_its_header(organiser, size):
    with pytest.raises(DomainError, match="40"):
        assets.store_image(organiser, png_claiming(*size), organiser.unit)
    assert Asset.select().count() == 0


def test_a_png_with_transparency_keeps_it(organiser):
    image = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    image.paste((200, 16, 46, 255), (10, 10, 40, 40))
    asset = assets.store_image(organiser, encode(image, "PNG"), organiser.unit)
    stored = Image.open(io.BytesIO(bytes(asset.data)))
    assert stored.mode == "RGBA" and stored.getpixel((0, 0))[3] == 0 and stored.getpixel((20, 20)) == (200, 16, 46, 255)


def test_load_images_gives_what_a_batch_names(organiser):
    border = assets.store_image(organiser, png(color=(1, 2, 3)), organiser.unit)
    logo = assets.store_image(organiser, jpeg(), organiser.unit)
    assets.store_image(organiser, png(color=(9, 9, 9)), organiser.unit)  # named by no certificate
    datas = [render.sample_data({"border": border.sha256}), render.sample_data({"logo": logo.sha256}),
             render.sample_data()]
    images = render.load_images(datas)
    assert set(images) == {border.sha256, logo.sha256}
    assert images[border.sha256] == ("image/png", bytes(border.data))
    assert render.load_images([render.sample_data()]) == {}
