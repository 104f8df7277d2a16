"""Raster images among uploads: what they are, how big, and their thumbnails (Pillow).

Only what Pillow decodes as PNG, JPEG, GIF or WebP counts as an image, whatever the file's
name or the type the browser claimed: everything else is served as a download. Sizes are
read from the header before any pixel is decoded, so a decompression bomb (a small file
that would expand to gigabytes) is refused before it costs memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

# What browsers show inline, by Pillow's format name.
RASTER_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
# 50 megapixels: any camera photo (a 48 MP phone shot fits); decoding more would take
# hundreds of megabytes of memory. Pillow's own bomb check starts at 89 MP.
MAX_PIXELS = 50_000_000
THUMB_BOX = (320, 320)
# EXIF orientations that turn the picture a quarter: width and height swap when shown.
QUARTER_TURNS = {5, 6, 7, 8}


class ImageRefused(Exception):
    """An image too large to decode safely."""


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int  # as shown, EXIF orientation applied
    height: int


def inspect(path: Path, thumb_path: Path) -> ImageInfo | None:
    """The image at ``path`` (with its thumbnail written to ``thumb_path``), or None if it is
    not an image browsers show. Raises :class:`ImageRefused` for a decompression bomb."""
    try:
        image = Image.open(path)  # reads the header only
    except Image.DecompressionBombError as error:
        raise ImageRefused(str(error)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    with image:
        content_type = RASTER_TYPES.get(image.format or "")
        if content_type is None:
            return None
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageRefused(f"{width}×{height} pixels")
        if image.getexif().get(0x0112) in QUARTER_TURNS:
            width, height = height, width
        try:
            _write_thumbnail(image, thumb_path)
        except Image.DecompressionBombError as error:
            raise ImageRefused(str(error)) from None
        except (OSError, ValueError, SyntaxError, EOFError):
            return None  # a broken image: kept as a plain file
    return ImageInfo(content_type=content_type, width=width, height=height)


def _write_thumbnail(image: Image.Image, thumb_path: Path) -> None:
    if thumb_path.exists():  # the same content was uploaded before
        return
    image.draft("RGB", THUMB_BOX)  # JPEG: decode at a reduced scale, much faster
    shown = ImageOps.exif_transpose(image)
    if shown.mode not in ("RGB", "RGBA"):
        shown = shown.convert("RGBA" if shown.has_transparency_data else "RGB")
    shown.thumbnail(THUMB_BOX)
    thumb_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = thumb_path.with_name(f".{thumb_path.name}.{os.getpid()}.tmp")
    try:
        shown.save(temp, "WEBP", quality=80)
        os.replace(temp, thumb_path)
    finally:
        temp.unlink(missing_ok=True)
