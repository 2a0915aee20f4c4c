"""Domain exceptions. Views flash their message; the CLI prints it and exits non-zero."""


class DomainError(Exception):
    """A business rule refused the request; ``str(exc)`` is the message for the user."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self):
        return str(self.message)


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass
