"""Images for vision models: what a call accepts, how each API carries it, and what a trace keeps.

`images=[...]` takes file paths (`str` or `pathlib.Path`), raw bytes and PIL images. Ollama takes
image data only, so URLs are refused with a clear error. Native requests carry base64 strings in
`messages[].images`; openai_chat requests carry `image_url` parts with data URLs. Traces keep
each image's media type, size, sha256 and a small thumbnail; in the request body as recorded,
the base64 is replaced by a marked placeholder (the bytes on the wire are unchanged).
"""

from __future__ import annotations

import base64
import hashlib
import io
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .errors import ConfigurationError

MAX_IMAGE_BYTES = 20_000_000  # per image; larger ones are refused before anything is sent
THUMBNAIL_PIXELS = 96
THUMBNAIL_SOURCE_PIXELS = 16_000_000  # larger images but JPEGs (read at 1/8 scale) get no thumbnail: slow to decode
_THUMBNAILS_KEPT = 64  # by sha256: a batch sending one image with every item decodes it once
_SIGNATURES = (  # (offset, magic bytes, media type): the formats Ollama's vision models read
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (8, b"WEBP", "image/webp"),
    (0, b"BM", "image/bmp"),
)


class ImageRecord(BaseModel):
    """An image as the trace keeps it (no image data beyond the thumbnail)."""

    media_type: str
    size: int
    sha256: str
    thumbnail: str | None = None  # a PNG data URL at most THUMBNAIL_PIXELS on a side


@dataclass(frozen=True, eq=False)
class Image:
    """One image of a call: its bytes and media type."""

    data: bytes
    media_type: str

    @cached_property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode()

    @property
    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.base64}"

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def placeholder(self, number: int) -> str:
        """What the trace's request body shows instead of the base64."""
        return (
            f"<image {number}: {self.media_type}, {len(self.data):,} bytes, sha256 {self.sha256[:16]}…; data not kept>"
        )

    def record(self) -> ImageRecord:
        return ImageRecord(
            media_type=self.media_type, size=len(self.data), sha256=self.sha256, thumbnail=_thumbnail(self)
        )


def images_of(items: Iterable[Any] | None) -> tuple[Image, ...]:
    """The call's `images=` as Images; raises `ConfigurationError` naming the one that cannot be sent."""
    if items is None:
        return ()
    if isinstance(items, (str, bytes, bytearray, memoryview, Path)) or hasattr(items, "save"):
        items = [items]  # one image given alone
    return tuple(image_of(item, number) for number, item in enumerate(items, start=1))


def image_of(item: Any, number: int = 1) -> Image:
    """One image from a path, bytes or a PIL image."""
    if isinstance(item, str) and item.lower().startswith(("http://", "https://", "data:", "ftp://")):
        raise ConfigurationError(
            f"Image {number} is a URL ({item[:60]!r}); Ollama takes image data only. Download it first "
            "(e.g. `httpx.get(url).content`) and pass the bytes, or a local path."
        )
    if isinstance(item, (str, Path)):
        data = _read(Path(item), number)
    elif isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
    elif hasattr(item, "save"):  # a PIL image: sent as PNG
        data = _png(item, number)
    else:
        raise ConfigurationError(
            f"Image {number} is a {type(item).__name__}; images are file paths, bytes or PIL images."
        )
    if len(data) > MAX_IMAGE_BYTES:
        raise ConfigurationError(
            f"Image {number} is {len(data):,} bytes; at most {MAX_IMAGE_BYTES:,} are sent. Resize it first."
        )
    return Image(data, _media_type(data, number))


def _png(picture: Any, number: int) -> bytes:
    """A PIL image as PNG; modes PNG cannot hold (CMYK, LAB, YCbCr, ...) as RGB first."""
    buffer = io.BytesIO()
    try:
        picture.save(buffer, format="PNG")
    except (OSError, ValueError):
        buffer = io.BytesIO()
        try:
            picture.convert("RGB").save(buffer, format="PNG")
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"Image {number} (a PIL image in mode {picture.mode}) cannot be sent as PNG: {exc}. Convert it "
                "to RGB first."
            ) from None
    return buffer.getvalue()


def _read(path: Path, number: int) -> bytes:
    """A file's bytes, never more than one past the limit (a device or a growing file is no image)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ConfigurationError(f"Image {number} ({str(path)!r}) is not a regular file.")
        with path.open("rb") as file:
            data = file.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(f"Image {number} cannot be read from {str(path)!r}: {exc.strerror}.") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ConfigurationError(f"Image {number} ({path}) is over {MAX_IMAGE_BYTES:,} bytes, the most sent.")
    return data


def _media_type(data: bytes, number: int) -> str:
    for offset, magic, media_type in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return media_type
    raise ConfigurationError(
        f"Image {number} is not a PNG, JPEG, GIF, WEBP or BMP image (it starts {data[:8]!r}); "
        "vision models read only those."
    )


_thumbnails: dict[str, str | None] = {}


def _thumbnail(image: Image) -> str | None:
    """A small PNG of the image as a data URL, made once per image content; None when Pillow cannot
    read it or it is too large to decode quickly (the header says, before any pixel is read)."""
    key = image.sha256
    if key not in _thumbnails:
        if len(_thumbnails) >= _THUMBNAILS_KEPT:
            _thumbnails.pop(next(iter(_thumbnails), key), None)  # the oldest
        _thumbnails[key] = _small_png(image.data)
    return _thumbnails.get(key)


def _small_png(data: bytes) -> str | None:
    try:
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(data)) as picture:
            width, height = picture.size
            if width * height > THUMBNAIL_SOURCE_PIXELS and picture.format != "JPEG":
                return None
            picture.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            buffer = io.BytesIO()
            picture.convert("RGBA").save(buffer, format="PNG")
    except Exception:  # no Pillow, or bytes it cannot decode: the trace keeps the rest
        return None
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def without_image_data(body: Any, images: tuple[Image, ...]) -> Any:
    """A request body with every image's base64 (bare or in a data URL) replaced by its placeholder."""
    if not images:
        return body
    shown = {}
    for number, image in enumerate(images, start=1):
        shown[image.base64] = shown[image.data_url] = image.placeholder(number)
    return _replaced(body, shown)


def _replaced(value: Any, shown: dict[str, str]) -> Any:
    if isinstance(value, str):
        return shown.get(value, value)
    if isinstance(value, dict):
        return {key: _replaced(item, shown) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item, shown) for item in value]
    return value
