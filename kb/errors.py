"""The one exception hierarchy of the product; the web layer maps these to status codes in one place."""


class KbError(Exception):
    """Base class for every error the product expects and reports to the user."""


class NotFound(KbError):
    """The thing asked for does not exist (or is not visible to the asker)."""


class Conflict(KbError):
    """The change clashes with existing data (a duplicate e-mail, a URL already watched)."""


class InvalidInput(KbError):
    """Input that cannot be accepted; the message says what is wrong."""


class PermissionDenied(KbError):
    """The user's role does not allow this action."""


class SettingsError(KbError):
    """A setting has a bad value; the message names the setting."""


class FetchError(KbError):
    """A source could not be fetched or parsed; the message says why, in words."""
