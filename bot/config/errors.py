"""The one error a configuration is refused with."""


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""
