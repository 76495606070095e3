"""Exceptions raised by keras_inpaint for bad input (subclasses of ``ValueError``)."""


class InpaintInputError(ValueError):
    """An image or mask handed to keras_inpaint is malformed (rank, size, range, values)."""


class PresetError(ValueError):
    """A preset name, directory or Hub handle cannot be resolved or is incomplete."""


class CheckpointError(ValueError):
    """A checkpoint file cannot be read safely or does not match the family it is converted to."""


class DataError(ValueError):
    """A folder of photos holds no image keras_inpaint can use (none found, or none readable)."""


class ConfigError(ValueError):
    """A setting is out of range (``epochs=0``, a batch of no images, ...)."""
