"""One exception type for every user-facing failure: the CLI prints its message as one line."""


class EdgewatchError(Exception):
    """A problem with the user's input (file, model, device, config, ...) — never a bug.

    The message must name the cause in one line, e.g. "input not found: /x.mp4".
    """
