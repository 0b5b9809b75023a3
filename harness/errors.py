"""The harness's exception tree, by cause (in the spirit of httpx).

Errors from bellows, serial ports and parsers are translated at the driver/codec boundary into these, so a
test or a lab script can catch by cause without knowing which library raised.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class InputError(HarnessError, ValueError):
    """Bad input from a user: a file, a field or a value that is not what was expected.

    `where` names the file/field (e.g. ``rigs/x.yaml: devices.esme.install_code``) so the message can point at it.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class DecodeError(HarnessError, ValueError):
    """Bytes that do not decode as the frame they claim to be."""


class SecurityError(HarnessError):
    """A MIC that does not verify, a missing key, a frame that cannot be decrypted."""


class RigError(HarnessError):
    """A rig file or a piece of rig hardware is wrong or missing."""


class LinkError(HarnessError):
    """The link to a coordinator (serial, tcp, ASH/EZSP) failed or timed out."""


class JoinTimeout(HarnessError):
    """A device did not join the HAN within its window."""


class SrvRejected(HarnessError):
    """A DUIS service request was answered with an error response code."""

    def __init__(self, message: str, *, response_code: str | None = None) -> None:
        self.response_code = response_code
        super().__init__(message)


class DomainError(HarnessError):
    """A SMETS2 business rule was broken (illegal SMI transition, full device log, ...)."""
