"""Complete Discord objects (the fields the real API always sends, filled in around what a test stored) and error bodies.

Tests store short messages (id, content, attachments, ...); the server answers with `complete_message`,
which adds every field Discord sends (https://discord.com/developers/docs/resources/message#message-object)
without changing what was stored. The shapes follow Discord's OpenAPI description and captured payloads.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
DEMO_USER_ID = "80351110224678912"
DEMO_APPLICATION_ID = "1100000000000000900"
IS_COMPONENTS_V2 = 1 << 15  # message flag: files live in `components`
Dimensions = Callable[[str], "tuple[int, int] | None"]  # media URL -> (width, height) when it is a picture
Json = dict[str, Any]

_USER_DEFAULTS: Json = {
    "avatar": None,
    "discriminator": "0",
    "public_flags": 0,
    "flags": 0,
    "banner": None,
    "accent_color": None,
    "global_name": None,
    "avatar_decoration_data": None,
    "collectibles": None,
    "banner_color": None,
    "clan": None,
    "primary_guild": None,
}
_CONTENT_DEFAULTS: Json = {
    "type": 0,
    "content": "",
    "mentions": [],
    "mention_roles": [],
    "attachments": [],
    "embeds": [],
    "edited_timestamp": None,
    "flags": 0,
    "components": [],
}
_MESSAGE_DEFAULTS: Json = {**_CONTENT_DEFAULTS, "pinned": False, "mention_everyone": False, "tts": False}


def timestamp_of(snowflake: str) -> str:
    """The ISO-8601 time a snowflake was made, as Discord writes `timestamp`."""
    millis = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, timezone.utc).isoformat(timespec="microseconds")


def placeholder_for(url: str) -> str:
    """A stand-in for the thumbhash Discord sends as `placeholder` (base64, stable per URL)."""
    return base64.b64encode(hashlib.sha256(url.encode()).digest()[:21]).decode()


def complete_user(user: Json | None) -> Json:
    """A user object with every field a message author carries."""
    found = user or {"id": DEMO_USER_ID, "username": "signals"}
    return {**_USER_DEFAULTS, **found}


def me_user(bot: bool) -> Json:
    """`GET /users/@me` for the demo account (a bot or a user)."""
    extra: Json = {"bot": True, "verified": True, "email": None} if bot else {"email": "picfan@example.invalid", "verified": True}
    return complete_user(
        {
            "id": DEMO_USER_ID,
            "username": "picfan",
            "global_name": None if bot else "Pic Fan",
            "mfa_enabled": False,
            "locale": "en-US",
        }
        | {"premium_type": 0}
        | extra
    )


def application() -> Json:
    """`GET /oauth2/applications/@me` for the demo bot (discord.py asks for it at login)."""
    owner = complete_user({"id": "80351110224678913", "username": "owner"})
    return {
        "id": DEMO_APPLICATION_ID,
        "name": "picfan",
        "icon": None,
        "description": "",
        "type": None,
        "bot": complete_user({"id": DEMO_USER_ID, "username": "picfan", "bot": True}),
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": 0,
        "flags_new": "0",
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "owner": owner,
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": None,
        "eligible_oauth2_scopes": ["bot"],
        "summary": "",
        "hook": True,
        "integration_types_config": {"0": {}},
        "rpc_origins": [],
    }


def partial_guild(guild: Json) -> Json:
    """An element of `GET /users/@me/guilds` (https://discord.com/developers/docs/resources/user#get-current-user-guilds)."""
    return {"icon": None, "banner": None, "owner": False, "permissions": "0", "features": []} | guild


def full_guild(guild: Json) -> Json:
    """`GET /guilds/{id}`: the guild with the fields the real API sends (roles with @everyone)."""
    everyone = {
        "id": guild["id"],
        "name": "@everyone",
        "permissions": "1024",
        "position": 0,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    nulls = "icon description home_header splash discovery_splash banner application_id afk_channel_id system_channel_id"
    nulls += " widget_channel_id vanity_url_code rules_channel_id safety_alerts_channel_id public_updates_channel_id"
    nulls += " max_presences incidents_data"
    return (
        {name: None for name in nulls.split()}
        | {
            "features": [],
            "owner_id": "80351110224678913",
            "region": "deprecated",
            "afk_timeout": 300,
            "system_channel_flags": 0,
            "widget_enabled": False,
            "verification_level": 0,
            "roles": [everyone],
            "default_message_notifications": 1,
            "mfa_level": 0,
            "explicit_content_filter": 0,
            "max_members": 500000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "premium_progress_bar_enabled": False,
            "nsfw": False,
            "nsfw_level": 0,
            "emojis": [],
            "stickers": [],
            "approximate_member_count": 2,
            "approximate_presence_count": 1,
        }
        | {key: value for key, value in guild.items() if key not in ("owner", "permissions")}
    )


def complete_channel(channel: Json) -> Json:
    """A guild channel or thread object as `GET /channels/{id}` sends it."""
    full: Json = {"flags": 0, "last_message_id": None, "rate_limit_per_user": 0, "permission_overwrites": []}
    if "thread_metadata" in channel:
        metadata = {"create_timestamp": channel["thread_metadata"].get("archive_timestamp"), "invitable": True}
        full |= {"owner_id": DEMO_USER_ID, "message_count": 0, "member_count": 1, "total_message_sent": 0}
        full |= {key: value for key, value in channel.items() if key != "thread_metadata"}
        full["thread_metadata"] = metadata | channel["thread_metadata"]
        return full
    full |= {"topic": None, "nsfw": False}
    if channel.get("type") in (15, 16):  # forum and media channels, https://discord.com/developers/docs/topics/threads#forums
        full |= {"available_tags": [], "default_reaction_emoji": None, "default_sort_order": None, "default_forum_layout": 0}
        full |= {"default_thread_rate_limit_per_user": 0, "default_tag_setting": "match_some"}
    return full | channel


def complete_media(media: Json, dims: Dimensions) -> Json:
    """An embed image/thumbnail/video: `proxy_url`, `width`, `height` as Discord sends them."""
    url = media.get("url", "")
    size = dims(url) or (640, 480)
    full = {"url": url, "proxy_url": url, "width": size[0], "height": size[1]}
    if media.get("url"):
        full |= {"placeholder": placeholder_for(url), "placeholder_version": 1, "flags": 0}
    return full | media


def complete_embed(embed: Json, dims: Dimensions) -> Json:
    """An embed with complete media objects."""
    full = dict(embed)
    for key in ("image", "thumbnail", "video"):
        if isinstance(embed.get(key), dict):
            full[key] = complete_media(embed[key], dims)
    return full


def complete_attachment(attachment: Json, dims: Dimensions) -> Json:
    """An attachment with `width`/`height`/`placeholder` for pictures and `flags`."""
    full: Json = {"flags": 0}
    size = dims(attachment.get("url", ""))
    if size is not None:
        full |= {"width": size[0], "height": size[1], "placeholder": placeholder_for(attachment["url"]), "placeholder_version": 1}
    full |= {"content_scan_version": 2}
    return full | attachment


def _complete_component(component: Json, dims: Dimensions, ids: list[int]) -> Json:
    """Components v2: every component has a numeric `id`; gallery items a full `media`."""
    ids.append(len(ids) + 1)
    full: Json = {"id": ids[-1]} | component
    if component.get("type") == 17:
        full = {"accent_color": None, "spoiler": False} | full
    if "components" in component:
        full["components"] = [_complete_component(child, dims, ids) for child in component["components"]]
    if "items" in component:
        full["items"] = [
            {"description": None, "spoiler": False} | item | {"media": _complete_unfurled(item.get("media", {}), dims)}
            for item in component["items"]
        ]
    return full


def _complete_unfurled(media: Json, dims: Dimensions) -> Json:
    url = media.get("url", "")
    size = dims(url) or (None, None)
    found = {"id": media.get("attachment_id", "0"), "url": url, "proxy_url": url, "width": size[0], "height": size[1]}
    return found | media


def _complete_content(message: Json, dims: Dimensions, defaults: Json) -> Json:
    full = {**defaults, **message}
    full["mentions"] = [complete_user(user) for user in full["mentions"]]
    full["attachments"] = [complete_attachment(item, dims) for item in full["attachments"]]
    full["embeds"] = [complete_embed(item, dims) for item in full["embeds"]]
    full["components"] = [_complete_component(item, dims, []) for item in full["components"]]
    return full


def complete_message(message: Json, guild_id: str | None, dims: Dimensions) -> Json:
    """The message as the real API sends it: every always-present field, replies and forwards complete."""
    full = _complete_content(message, dims, _MESSAGE_DEFAULTS)
    full.setdefault("timestamp", timestamp_of(message["id"]))
    full["author"] = complete_user(message.get("author"))
    if "message_reference" in message:
        reference = {"type": 0, "channel_id": message["channel_id"]} | message["message_reference"]
        if guild_id is not None and reference["channel_id"] == message["channel_id"]:
            reference.setdefault("guild_id", guild_id)
        full["message_reference"] = reference
    if "message_snapshots" in message:
        full["message_snapshots"] = [
            {"message": _complete_content(snapshot["message"], dims, _CONTENT_DEFAULTS)}
            for snapshot in message["message_snapshots"]
        ]
    parent = message.get("referenced_message")
    if parent:
        full["referenced_message"] = complete_message({"channel_id": message["channel_id"]} | parent, guild_id, dims)
    return full


def without_content(message: Json) -> Json:
    """What a bot without the MESSAGE_CONTENT intent gets.

    https://discord.com/developers/docs/events/gateway#message-content-intent
    """
    emptied = {"content": "", "attachments": [], "embeds": [], "components": []}
    return {key: value for key, value in message.items() if key != "poll"} | emptied


# --- what the server answers besides objects --------------------------------------------------

# Bodies seen from Discord: https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
ERRORS: dict[int | str, Json] = {
    401: {"message": "401: Unauthorized", "code": 0},
    "missing_access": {"message": "Missing Access", "code": 50001},
    "unknown_channel": {"message": "Unknown Channel", "code": 10003},
    "unknown_guild": {"message": "Unknown Guild", "code": 10004},
    "not_found": {"message": "404: Not Found", "code": 0},
}
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>blocked</body></html>"
EXPIRED_TEXT = b"This content is no longer available."


def invalid_form_body(field_name: str, value: str) -> Json:
    """The 400 / 50035 body Discord sends for a value that is not a snowflake."""
    return {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {field_name: {"_errors": [{"code": "NUMBER_TYPE_COERCE", "message": f'Value "{value}" is not snowflake.'}]}},
    }
