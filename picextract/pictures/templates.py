"""Pure `--name` templates: which fields a file name is made of, each sanitised."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from string import Formatter

from picextract.pictures.filenames import picture_name, sanitize_filename
from picextract.pictures.refs import PictureRef

FIELDS = {
    "date": "the message's date, YYYY-MM-DD (in --timezone)",
    "time": "the message's time, HH-MM-SS (in --timezone)",
    "name": "the original file name without its extension",
    "ext": "the extension (from the name, else the content type)",
    "author": "the author's display name",
    "channel": "the channel's name (a thread: channel-thread)",
    "guild": "the server's name (dm outside a server)",
    "message_id": "the message id",
    "attachment_id": "the attachment id (other pictures: a short stable hash of their URL)",
}
DEFAULT_TEMPLATE = "{date}_{time}_{name}.{ext}"
FIELD_MAX_BYTES = 60  # author, channel and guild: keep room for the name itself
MAX_TEMPLATE_NAME_BYTES = 240  # below the 255 bytes most file systems allow, with room for `.part`


@dataclass(frozen=True)
class NameTemplate:
    """A parsed `--name` template: literal text and fields, in order."""

    text: str
    parts: tuple[tuple[str, str | None], ...]

    @property
    def is_default(self) -> bool:
        """True for the template that gives the names of old."""
        return self.text == DEFAULT_TEMPLATE

    def uses(self, field_name: str) -> bool:
        """Whether the template holds this field (e.g. `guild`: the guild's name must be known)."""
        return any(name == field_name for _, name in self.parts)

    def render(self, values: Mapping[str, str]) -> str:
        """The file name for these (already sanitised) field values.

        An empty `{ext}` drops the dot before it, so the extension found on download is added instead.
        """
        rendered = ""
        for literal, field_name in self.parts:
            rendered += literal
            if field_name is None:
                continue
            value = values[field_name]
            if field_name == "ext" and not value and rendered.endswith("."):
                rendered = rendered[:-1]
            rendered += value
        return sanitize_filename(rendered, MAX_TEMPLATE_NAME_BYTES)


def parse_template(text: str) -> NameTemplate:
    """A `--name` template checked; ValueError with a one-line message."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as problem:
        raise ValueError(f"--name: {problem} in {text!r} (write {{{{ and }}}} for braces)") from None
    parts: list[tuple[str, str | None]] = []
    for literal, field_name, spec, conversion in parsed:
        if field_name is not None and (field_name not in FIELDS or spec or conversion):
            shown = "{" + field_name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(f"--name: unknown field {shown}; fields are {', '.join('{' + f + '}' for f in FIELDS)}")
        if "/" in literal or "\\" in literal:
            raise ValueError("--name makes file names, not folders (for folders use --output with {guild} and {channel})")
        parts.append((literal, field_name))
    if not any(field_name == "ext" for _, field_name in parts):
        raise ValueError(f"--name: the template needs {{ext}} (e.g. {DEFAULT_TEMPLATE})")
    return NameTemplate(text, tuple(parts))


def _clean(value: str, fallback: str) -> str:
    """A field value safe inside a file name."""
    return sanitize_filename(value, FIELD_MAX_BYTES) if value.strip(" .") else fallback


def split_name(name: str) -> tuple[str, str]:
    """(stem, extension) by the rule `sanitize_filename` uses: no extension over 10 characters."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        return name, ""
    return stem, ext


def field_values(ref: PictureRef, tz: tzinfo | None, channel: str, guild: str) -> dict[str, str]:
    """Every template field of one picture, sanitised."""
    local = ref.posted_at.astimezone(tz)
    stem, ext = split_name(sanitize_filename(picture_name(ref)))
    return {
        "date": f"{local:%Y-%m-%d}",
        "time": f"{local:%H-%M-%S}",
        "name": stem,
        "ext": ext,
        "author": _clean(ref.author, "unknown"),
        "channel": _clean(channel, "unknown"),
        "guild": _clean(guild, "dm"),
        "message_id": str(ref.message_id),
        "attachment_id": ref.suffix_id,
    }


def render_name(template: NameTemplate, ref: PictureRef, tz: tzinfo | None, channel: str = "", guild: str = "") -> str:
    """The file name of one picture under a template."""
    return template.render(field_values(ref, tz, channel, guild))


DEFAULT_NAME_TEMPLATE = parse_template(DEFAULT_TEMPLATE)
