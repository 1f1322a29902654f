"""Every exception hookflow raises for a reason a user can act on, in one place.

Each is one clear line; the command line catches ``HookflowError`` and prints
it as such. Failures that cross the Temporal boundary are not exceptions but
``ApplicationError``s whose ``type=`` is a ``FailureType``
(``activities.contracts``).
"""

from __future__ import annotations


class HookflowError(Exception):
    """Base of hookflow's own errors: the message is one line for the user."""


class ConfigError(HookflowError, ValueError):
    """Invalid configuration, or a reference to something that does not exist."""


class NotFound(ConfigError, LookupError):
    """No webhook, secret, key, session, process or delivery by that name (in that project)."""


class Conflict(ConfigError):
    """The name is taken (an alias, a session or process id), or the thing is in use."""


class TooLarge(HookflowError):
    """A request, upload or signal over its size limit, or a project over its quota."""


class TemporalUnavailable(HookflowError):
    """Temporal cannot be reached, or no worker answered in time."""


class WorkflowClosed(HookflowError):
    """The session or process has ended: it takes no more signals."""


class UpstreamFailed(HookflowError):
    """The customer's endpoint gave no usable answer (a remote-data call)."""


class SettingsError(HookflowError, ValueError):
    """A setting (environment, option, key file) has an invalid value."""


class SecretBoxError(HookflowError):
    """A stored secret cannot be decrypted with the configured key."""


class DestinationRefused(HookflowError):
    """The destination resolves only to addresses the guard refuses."""


class TokenError(HookflowError):
    """The token endpoint did not give a usable token."""


class EndpointUnavailable(HookflowError):
    """The webhook was deleted or disabled since the delivery was scheduled."""


class EndpointPaused(EndpointUnavailable):
    """The webhook is disabled: its deliveries wait until it is enabled again."""


class DocumentNotFound(HookflowError, LookupError):
    """No document has that reference (or the reference is malformed)."""


class SealedTextMissing(HookflowError, LookupError):
    """The reference is unknown or its text expired."""


class DevServerError(HookflowError):
    """The embedded Temporal dev server could not start."""


class PayloadUndecodable(HookflowError):
    """A Temporal payload is encrypted with a codec key this process lacks, or altered."""


class LinkRefused(HookflowError):
    """A document link whose signature is wrong or whose time is up (403)."""


class LinksUnavailable(HookflowError):
    """Documents must go as links, and hookflow has no public address to link to."""
