"""Generated Discord messages for the property tests: drawn from Discord's published message schema, then mutated.

The schema is `MessageResponse` of `../shared/discord-openapi/openapi.json` (loaded and resolved as
tests/test_fake_spec.py does). Drawn whole it is too large to generate from (hundreds of nested
objects), so `generation_schema` inlines its `$ref`s and prunes it: the properties the program reads,
plus every required one, lists of at most MAX_ITEMS, `oneOf` drawn as `anyOf`; every drawn message is
then checked against the unpruned spec. Mutations break what a hostile or buggy server might:
missing fields, wrong types, nulls, huge strings, odd Unicode, nested forwards and components.
"""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from picextract.discord.answers import decode_json
from tests.test_fake_spec import REGISTRY, SPEC, SPEC_URI

MAX_ITEMS = 2
MAX_OBJECT_DEPTH = 12
# What the program reads from a message (pictures, names, filters, index rows); other optional fields are left out.
READ_FIELDS = frozenset(
    {
        *("id", "channel_id", "type", "content", "timestamp", "flags", "author", "member", "webhook_id"),
        *("attachments", "embeds", "components", "sticker_items", "message_snapshots", "message"),
        *("username", "global_name", "nick", "bot", "url", "proxy_url", "filename", "content_type", "size"),
        *("width", "height", "image", "thumbnail", "video", "items", "media", "file", "accessory", "attachment_id"),
        *("format_type", "name", "title", "description"),
    }
)
URL_FORMAT = "picture-url"
SNOWFLAKE_FORMAT = "usable-snowflake"
VALUE_FORMATS = {
    **{"url": URL_FORMAT, "proxy_url": URL_FORMAT, "content_type": "content-type", "filename": "file-name"},
    "type": "embed-type",  # the only string `type`: an embed's
}
KEPT_FORMATS = frozenset({"date-time", URL_FORMAT, SNOWFLAKE_FORMAT, *VALUE_FORMATS.values()})
MESSAGE_VALIDATOR = Draft202012Validator({"$ref": f"{SPEC_URI}#/components/schemas/MessageResponse"}, registry=REGISTRY)


def _schema_named(ref: str) -> dict[str, Any]:
    return SPEC["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _object(schema: dict[str, Any], depth: int) -> dict[str, Any]:
    required = list(schema.get("required", []))
    properties = {}
    for name, sub in schema.get("properties", {}).items():
        if name not in required and (name not in READ_FIELDS or depth >= MAX_OBJECT_DEPTH):
            continue
        pruned = generation_schema(sub, depth + 1, name in READ_FIELDS)
        if name in VALUE_FORMATS and "string" in str(pruned.get("type")):
            pruned = {**pruned, "format": VALUE_FORMATS[name]}  # values like Discord's, where the spec says only "string"
        properties[name] = pruned
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def generation_schema(schema: dict[str, Any], depth: int = 0, is_read: bool = True) -> dict[str, Any]:
    """A self-contained, pruned copy of a spec schema that hypothesis-jsonschema can draw from quickly."""
    if "$ref" in schema:
        if schema["$ref"].endswith("/SnowflakeType"):
            return {"type": "string", "format": SNOWFLAKE_FORMAT}
        return generation_schema(
            {**_schema_named(schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}, depth, is_read
        )
    pruned = {key: value for key, value in schema.items() if key not in ("description", "title", "format", "allOf", "oneOf")}
    if schema.get("format") in KEPT_FORMATS or schema.get("format") == "uri":
        pruned["format"] = URL_FORMAT if schema["format"] == "uri" else schema["format"]
    if "allOf" in schema and "enum" not in schema:
        pruned["allOf"] = [generation_schema(sub, depth, is_read) for sub in schema["allOf"]]
    if "oneOf" in schema:  # drawn as anyOf: oneOf's exclusivity makes hypothesis filter most draws away
        pruned["anyOf"] = [generation_schema(sub, depth, is_read) for sub in schema["oneOf"]]
    if "anyOf" in schema:
        pruned["anyOf"] = [generation_schema(sub, depth, is_read) for sub in schema["anyOf"]]
    if schema.get("type") == "object" or "properties" in schema:
        return {**pruned, **_object(schema, depth)}
    if schema.get("type") == "array":
        pruned["items"] = generation_schema(schema.get("items", {}), depth, is_read)
        pruned["maxItems"] = MAX_ITEMS if is_read and depth < MAX_OBJECT_DEPTH else 0
        pruned.pop("uniqueItems", None)
    return pruned


# --- the values inside: URLs, ids, text ----------------------------------------------------------

HOSTS = "cdn.discordapp.com media.discordapp.net images-ext-1.discordapp.net i.imgur.com example.com".split()
HOSTS += ["xn--bcher-kva.example", "127.0.0.1:8080", "[::1]"]
EXTENSIONS = ".png .PNG .jpg .jpeg .gif .webp .avif .heic .mp4 .mov .webm .txt .html .png.exe .tar.gz".split() + [""]
ODD_PIECES = ["\u202e", "\u200b", "\ufeff", "\u0301", "\x00", "\x1b[31m", "\r\n", "..", "/", "\\", ":", "CON"]
ODD_PIECES += ["😀", "👨‍👩‍👧", "ﷺ", "ǅ", "İ", " ", "."]  # emoji sequences, a ligature, title case, dotted I
ODD_TEXT = st.lists(st.characters(codec="utf-8") | st.sampled_from(ODD_PIECES), max_size=16).map("".join)


@st.composite
def picture_urls(draw: st.DrawFn) -> str:
    """An http(s) URL as Discord sends them: a host, a path (any text, percent-encoded), a picture extension or
    another, sometimes the CDN's signature (`ex`, `is`, `hm`) or a media-proxy `format=`."""
    segments = draw(st.lists(ODD_TEXT.filter(lambda text: text not in ("", ".", "..")), min_size=1, max_size=2))
    path = "/".join(quote(segment, safe="") for segment in segments) + draw(st.sampled_from(EXTENSIONS))
    query = draw(st.sampled_from(["", "?ex=66f0a1b2&is=66ef5032&hm=0badc0ffee", "?format=webp&width=400", "?size=4096"]))
    return f"{draw(st.sampled_from(['https', 'http']))}://{draw(st.sampled_from(HOSTS))}/{path}{query}"


CONTENT_TYPES = ["image/png", "image/jpeg", "IMAGE/GIF", "image/webp", "image/avif", "image/heic", "image/svg+xml"]
CONTENT_TYPES += ["video/mp4", "text/html; charset=utf-8", "application/pdf", ""]
CUSTOM_FORMATS = {
    URL_FORMAT: picture_urls(),
    SNOWFLAKE_FORMAT: st.integers(1, 2**63 - 1).map(str),
    "content-type": st.sampled_from(CONTENT_TYPES) | ODD_TEXT,
    "embed-type": st.sampled_from(["image", "rich", "article", "gifv", "video", "link", "poll_result"]) | ODD_TEXT,
    "file-name": st.builds(lambda stem, extension: stem + extension, ODD_TEXT, st.sampled_from(EXTENSIONS)),
}


def _is_structured(schema: dict[str, Any]) -> bool:
    nested = any(map(_is_structured, schema.get("anyOf", [])))
    return nested or schema.get("type") in ("object", "array") or "properties" in schema


def strategy_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Objects and lists built here, once; every value inside drawn by hypothesis-jsonschema.

    hypothesis-jsonschema drawing the whole message re-canonicalises each nested schema on every
    draw (over a second per message); composed like this a message takes milliseconds.
    """
    if schema.get("type") == "object" or "properties" in schema:
        properties = {name: strategy_for(sub) for name, sub in schema.get("properties", {}).items()}
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {name: value for name, value in properties.items() if name in required},
            optional={name: value for name, value in properties.items() if name not in required},
        )
    if schema.get("type") == "array":
        return st.lists(strategy_for(schema.get("items", {})), max_size=schema.get("maxItems", MAX_ITEMS))
    if "anyOf" in schema and _is_structured(schema):
        shared = {key: value for key, value in schema.items() if key != "anyOf"}
        return st.one_of([strategy_for({**shared, **sub}) for sub in schema["anyOf"]])
    return from_schema(schema, custom_formats=CUSTOM_FORMATS)


@functools.cache
def spec_messages() -> st.SearchStrategy[dict[str, Any]]:
    """Messages valid per Discord's published schema (each checked against the unpruned spec); built once."""
    return strategy_for(generation_schema(_schema_named("MessageResponse"))).filter(MESSAGE_VALIDATOR.is_valid)


# --- mutations -----------------------------------------------------------------------------------

HOSTILE_URLS = st.sampled_from(
    [
        "http://[::1/x.png",  # urllib.parse: ValueError("Invalid IPv6 URL")
        "https://[v1.x]/y.png",
        "http://a:99999/x.png",
        "http://a/%ff%fe.png",
        "https://a/\x00.png",
        "https://",
        "attachment://x.png",
        "//x/y.png",
        "HTTPS://CDN.DISCORDAPP.COM/EMOJIS/1.PNG",
        "http://a/" + "b" * 5000 + ".png",
        "see http://[::1/x.png and https://x/(a).png)",
        "\ud83d.png",
    ]
)
ODD_IDS = st.sampled_from(["¹", "١٢٣", "0", "-1", "9" * 30, " 1", "1.0", "0x1f", "", 1157854642810654821, 2**64, True])
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    ODD_TEXT,
    st.text(max_size=3).map(lambda text: text * 40_000),  # huge strings
    HOSTILE_URLS,
    ODD_IDS,
    st.sampled_from([[], {}, [None], [{}], {"url": None}, [[[]]]]),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value: keys of objects, indexes of lists."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found.append((*prefix, key))
        found.extend(_paths(item, (*prefix, key)))
    return found


def _container(message: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        message = message[key]
    return message


# The fields the parts are read by, broken more often: URLs, the text links are found in, ids.
TARGETED = {"url": HOSTILE_URLS, "proxy_url": HOSTILE_URLS, "content": HOSTILE_URLS, "id": ODD_IDS, "attachment_id": ODD_IDS}


def _break_fields(draw: st.DrawFn, copy: dict[str, Any]) -> None:
    """Drop a few fields or put junk in them, TARGETED ones more often."""
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(copy)
        if not paths:
            return
        targeted = [path for path in paths if path[-1] in TARGETED]
        path = draw(st.sampled_from(targeted if targeted and draw(st.integers(0, 3)) else paths))
        holder = _container(copy, path)
        if path in targeted:
            holder[path[-1]] = draw(TARGETED[path[-1]] if draw(st.integers(0, 3)) else JUNK)
            if isinstance(holder, dict) and "content_type" in holder:
                holder["content_type"] = "image/png"  # so that the part's URL is read
        elif draw(st.booleans()) and isinstance(holder, dict):
            del holder[path[-1]]
        else:
            holder[path[-1]] = draw(JUNK)


def _nest(draw: st.DrawFn, copy: dict[str, Any]) -> None:
    """Forwards of forwards and containers in containers, deeper than Discord sends them."""
    if draw(st.booleans()):  # only the first level of forwards is read
        chain: Any = {"content": draw(ODD_TEXT), "attachments": copy.get("attachments")}
        for _ in range(draw(st.integers(1, 30))):
            chain = {"content": "", "message_snapshots": [{"message": chain}]}
        copy["message_snapshots"] = [*draw(st.sampled_from([[], [None], [{}]])), {"message": chain}]
    if draw(st.booleans()):  # components-v2 nests a few levels; past MAX_COMPONENT_DEPTH nothing is read
        nested: Any = {"type": 12, "items": [{"media": {"url": draw(picture_urls())}}]}
        for _ in range(draw(st.integers(1, 200))):
            nested = (
                {"type": 17, "components": [nested]}
                if draw(st.booleans())
                else {"type": 9, "components": [], "accessory": nested}
            )
        copy["components"] = [nested]


@st.composite
def mutated(draw: st.DrawFn, message: dict[str, Any]) -> dict[str, Any]:
    """A copy of `message` with a few fields dropped or replaced by junk, maybe nested in forwards and containers."""
    copy = json.loads(json.dumps(message))
    _break_fields(draw, copy)
    if draw(st.integers(0, 3)) == 0:  # a link typed in the text: anyone can write one urllib cannot split
        copy["content"] = f"see {draw(HOSTILE_URLS)} {copy.get('content')}"
    _nest(draw, copy)
    return copy


def through_the_wire(message: Any) -> Any:
    """What the client hands on: the JSON as the server sends it, decoded as every answer is (`decode_json`)."""
    return decode_json(json.dumps(message).encode())
