"""The one exception type a user can cause; the CLI prints it as a single line."""


class PezoError(Exception):
    """An error caused by input (configuration, toolchain, files), reported without a traceback."""
