from core.errors import ApplicationError


def test_an_application_error_carries_its_message_and_field():
    exc = ApplicationError("Choose a date in the future.", field="publish_at")
    assert (str(exc), exc.message, exc.field) == (
        "Choose a date in the future.",
        "Choose a date in the future.",
        "publish_at",
    )
    assert ApplicationError("Not allowed.").field is None
