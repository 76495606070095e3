"""Exceptions raised by keras_inpaint: bad input (subclasses of ``ValueError``) and failed writes (``OSError``)."""


class InpaintInputError(ValueError):
    """An image or mask handed to keras_inpaint is malformed (rank, size, range, values) or unreadable."""


class PresetError(ValueError):
    """A preset name, directory or Hub handle cannot be resolved or is incomplete."""


class CheckpointError(ValueError):
    """A checkpoint file cannot be read safely or does not match the family it is converted to."""


class ImageWriteError(OSError, InpaintInputError):
    """An image file cannot be written (folder missing or read-only, disk full): one line naming the path.

    An ``OSError`` (``errno`` is the underlying error's number when there is one; ``str()`` is the
    message alone), and an ``InpaintInputError`` too, so every command that writes a picture
    reports it in one line like the other problems with the user's files.
    """


class DataError(ValueError):
    """A folder of photos holds no image keras_inpaint can use (none found, or none readable)."""


class ConfigError(ValueError):
    """A setting is out of range (``epochs=0``, a batch of no images, ...)."""


class ClusterError(RuntimeError):
    """A worker of a multi-worker training run stopped or cannot be reached (the run keeps its last finished epoch)."""
