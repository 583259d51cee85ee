"""One root exception for the platform, with terminal and transient branches.

Data problems (a failing rule, a rejected row) are *results*, never exceptions.
Exceptions are for broken configuration or input (terminal: retrying cannot help)
and for infrastructure hiccups (transient: a retry may succeed).
"""

from __future__ import annotations


class DQError(Exception):
    """Root of every error the platform raises on purpose."""

    code: str = "dq_error"
    terminal: bool = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def one_line(self) -> str:
        """The message as a user sees it: one line, prefixed with the stable code."""
        return f"{self.code}: {' '.join(self.message.split())}"


class TerminalError(DQError):
    """Retrying cannot help: bad configuration, bad input, a missing object."""


class TransientError(DQError):
    """A retry may succeed: timeouts, throttling, a store briefly unavailable."""

    code = "transient"
    terminal = False


class ConfigError(TerminalError):
    """A configuration object is invalid or cannot be resolved."""

    code = "config_invalid"


class LoadError(ConfigError):
    """An authoring file could not be read or validated.

    ``location`` is the file, ``path`` the place inside it (``rules[3].params.pattern``).
    """

    code = "load_failed"

    def __init__(self, location: str, path: str, message: str) -> None:
        self.location = location
        self.path = path
        where = f"{location}: {path}: " if path else f"{location}: "
        super().__init__(where + message)


class ResolutionError(LoadError):
    """A reference names an object that does not exist, or references form a cycle."""

    code = "reference_invalid"


class HintError(LoadError):
    """A remediation hint uses a placeholder its rule type does not have (docs/validation.md, Remediation hints)."""

    code = "hint_invalid"


class ObjectNotFound(ConfigError):
    """The requested object (kind, id, version) is not in the registry."""

    code = "not_found"


class InteropError(ConfigError):
    """An external document (ODCS) cannot be converted."""

    code = "interop_failed"


class OptionError(ConfigError):
    """A command-line option (or a run override) is out of its range or malformed."""

    code = "invalid_option"


class InputError(TerminalError):
    """A data file cannot be read as the format it claims (or as any supported format)."""

    code = "input_invalid"


class IngestError(InputError):
    """A guard refused a raw file; ``code`` names the guard (empty_file, ragged_rows, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
