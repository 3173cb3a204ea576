class ApplicationError(Exception):
    """An error the user caused and can fix. `message` is written for that user.

    `field` optionally names the form field the message belongs beside.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
