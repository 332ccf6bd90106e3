"""AWS-shaped errors: each carries the `__type` code boto3 turns into ClientError.code, and an HTTP status."""


class ServiceError(Exception):
    """An error answered as {"__type": code, "message": message} with `status`."""

    code = "InternalFailure"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def body(self) -> dict:
        return {"__type": self.code, "message": self.message}


def _error(code: str, status: int = 400) -> type[ServiceError]:
    return type(code, (ServiceError,), {"code": code, "status": status})


ResourceNotFound = _error("ResourceNotFoundException")
ResourceAlreadyExists = _error("ResourceAlreadyExistsException")
ResourceInUse = _error("ResourceInUseException")
InvalidInput = _error("InvalidInputException")
InvalidNextToken = _error("InvalidNextTokenException")
LimitExceeded = _error("LimitExceededException")
TooManyTags = _error("TooManyTagsException")
Throttling = _error("ThrottlingException")
InternalFailure = _error("InternalFailure", 500)
NotImplementedOp = _error("NotImplementedException", 501)
UnknownOperation = _error("UnknownOperationException")

# Answers of the HTTP layer itself (who may call, how a request must look), AWS-shaped like the rest.
AccessDenied = _error("AccessDeniedException", 403)
MethodNotAllowed = _error("MethodNotAllowedException", 405)
LengthRequired = _error("LengthRequiredException", 411)
RequestTooLarge = _error("RequestEntityTooLargeException", 413)
UnsupportedMediaType = _error("UnsupportedMediaTypeException", 415)
