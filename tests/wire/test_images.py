"""Images on every wire: what is sent, what the trace keeps, what is refused."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image as PILImage
from wire_shapes import conversation

from alloy_nb import ConfigurationError, ask
from alloy_nb._capabilities import forget
from alloy_nb._images import MAX_IMAGE_BYTES

VISION = "ollama:gemma3:4b"


def png(width: int = 300, height: int = 200, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _fresh_capabilities():
    forget()
    yield
    forget()


def _sent_images(body: dict, api: str) -> list[str]:
    last = conversation(body, api)[-1]
    if api == "native":
        return last["images"]
    if api == "openai_chat":
        return [part["image_url"]["url"] for part in last["content"] if part["type"] == "image_url"]
    return [part["image_url"] for part in last["content"] if part["type"] == "input_image"]


def test_images_go_on_each_wire_in_its_own_shape(server, api: str, tmp_path: Path) -> None:
    picture = png()
    path = tmp_path / "red.png"
    path.write_bytes(picture)
    assert isinstance(ask("What colour?", images=[path, str(path), picture], model=VISION, api=api), str)
    encoded = base64.b64encode(picture).decode()
    wire = server.requests[0].body
    expected = [encoded] * 3 if api == "native" else [f"data:image/png;base64,{encoded}"] * 3
    assert _sent_images(wire, api) == expected
    if api == "openai_chat":
        assert wire["messages"][-1]["content"][0] == {"type": "text", "text": "What colour?"}
    elif api == "openai_responses":
        assert wire["input"][-1]["content"][0] == {"type": "input_text", "text": "What colour?"}
    else:
        assert wire["messages"][-1]["content"] == "What colour?"
    assert server.requests[0].messages[-1]["images"] == [encoded] * 3  # what the server read


def test_the_trace_keeps_facts_and_a_thumbnail_not_the_data(server, api: str) -> None:
    picture = png(640, 480)
    _, trace = ask.traced("Describe.", images=[picture], model=VISION, api=api)
    [record] = trace.images
    assert (record.media_type, record.size) == ("image/png", len(picture))
    assert record.sha256 == __import__("hashlib").sha256(picture).hexdigest()
    assert record.thumbnail is not None and record.thumbnail.startswith("data:image/png;base64,")
    with PILImage.open(io.BytesIO(base64.b64decode(record.thumbnail.split(",", 1)[1]))) as thumb:
        assert max(thumb.size) <= 96
    encoded = base64.b64encode(picture).decode()
    recorded = json.dumps(trace.requests[0].body)
    assert encoded not in recorded and "<image 1: image/png" in recorded and "data not kept>" in recorded
    assert encoded not in trace.to_json() and encoded not in trace._repr_html_()
    assert '<img class="at-thumb" src="data:image/png;base64,' in trace._repr_html_()


def test_pil_images_and_jpeg_bytes(server) -> None:
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "blue").save(buffer, format="JPEG")
    _, trace = ask.traced("Hi", images=[PILImage.new("RGB", (4, 4)), buffer.getvalue()], model=VISION)
    assert [r.media_type for r in trace.images] == ["image/png", "image/jpeg"]


def test_streams_carry_images_too(server, api: str) -> None:
    stream = ask.stream("What is it?", images=[png()], model=VISION, api=api)
    "".join(stream)
    assert len(_sent_images(server.requests[0].body, api)) == 1 and stream.trace.images


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("https://example.com/cat.png", r"Image 1 is a URL .*Ollama takes image data only\. Download it first"),
        (b"%PDF-1.7 not an image", r"Image 1 is not a PNG, JPEG, GIF, WEBP or BMP image"),
        ("/no/such/picture.png", r"Image 1 cannot be read from '/no/such/picture\.png': No such file or directory\."),
        (b"\x89PNG\r\n\x1a\n" + b"0" * MAX_IMAGE_BYTES, r"Image 1 is 20,000,008 bytes; at most 20,000,000 are sent"),
        (3.14, r"Image 1 is a float; images are file paths, bytes or PIL images\."),
    ],
)
def test_images_that_cannot_be_sent_are_refused_before_anything_is(server, image: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ask("Hi", images=[image], model=VISION)
    assert server.requests == []


def test_images_for_a_model_that_cannot_see_are_refused(server, api: str) -> None:
    with pytest.raises(ConfigurationError, match=r"smollm2:135m cannot read images .* can: gemma3:4b\."):
        ask("What is it?", images=[png()], api=api)
    assert server.requests == []


def test_a_cmyk_picture_and_bytes_given_alone_are_sent(server) -> None:
    cmyk = PILImage.new("CMYK", (40, 30), (0, 255, 255, 0))
    value, trace = ask.traced("What colour?", images=cmyk, model=VISION)
    assert isinstance(value, str) and trace.images[0].media_type == "image/png"
    sent = base64.b64decode(server.requests[0].messages[-1]["images"][0])
    assert PILImage.open(io.BytesIO(sent)).mode == "RGB"
    for alone in (bytearray(png()), memoryview(png())):
        assert len(ask.traced("What colour?", images=alone, model=VISION).trace.images) == 1


def test_a_device_is_refused_unread() -> None:
    with pytest.raises(ConfigurationError, match="is not a regular file"):
        ask("What is this?", images=["/dev/zero"], model=VISION)


def test_an_image_too_large_to_decode_quickly_gets_no_thumbnail(server) -> None:
    buffer = io.BytesIO()
    PILImage.new("1", (4500, 4000)).save(buffer, format="PNG")  # 18 Mpx in a small file
    huge, small = buffer.getvalue(), png()
    trace = ask.traced("What is this?", images=[huge, small], model=VISION).trace
    assert [record.thumbnail is None for record in trace.images] == [True, False]
