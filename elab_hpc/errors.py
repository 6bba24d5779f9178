"""Errors a user can act on. The CLI prints them without a traceback."""


class UserError(Exception):
    """Bad input from the user (config, arguments, environment); the message says what to fix."""


class ConfigError(UserError):
    """An invalid configuration; the message names the offending key."""
