"""Settings from the environment and the optional TOML file named by IAMAUTH_CONFIG.

Validated once at start; a wrong file is refused with the line of the wrong table, key or item.
"""

from bot.config.settings import DEFAULT_SLACK_API_URL, ConfigError, Settings, load_settings

__all__ = ["DEFAULT_SLACK_API_URL", "ConfigError", "Settings", "load_settings"]
