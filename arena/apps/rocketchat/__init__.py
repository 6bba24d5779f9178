"""Rocket.Chat: channels, direct messages, users. Tool names and parameters follow the published
arena's Rocket.Chat MCP server (send_channel_message, get_channel_messages, ...)."""
from arena.apps.rocketchat.schema import SCHEMA
from arena.core.app import App

app = App("rocketchat", title="Rocket.Chat", domain="Communication", schema=SCHEMA,
          description="Team chat: public/private channels, direct messages, search.")

from arena.apps.rocketchat import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
