"""Settings from the environment and the optional TOML file named by IAMAUTH_CONFIG.

Validated once at start; a wrong file is refused with the line of the wrong table, key or item.
One module per concern: environment, file (the TOML file and its typed table reader),
toml_lines (where each table, key and item is), watches, access, targets, and settings, which
composes them.
"""

from bot.config.environment import DEFAULT_DATABASE_URL, DEFAULT_SLACK_API_URL
from bot.config.errors import ConfigError
from bot.config.settings import Settings, load_settings

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_SLACK_API_URL",
    "ConfigError",
    "Settings",
    "load_settings",
]
