"""The part of keras-hub's preset machinery that its public API does not export.

keras_hub (0.32) exports ``Backbone``/``Task`` with ``from_preset`` and ``save_to_preset``, but
not ``register_presets`` (how its own model folders add built-in presets, so that
``Task.presets`` lists them and a name resolves to its handle), nor the preset file names and
``get_preset_loader``. This is the only module that imports ``keras_hub.src``; if upstream
exports these, only this file changes.
"""

from keras_hub.src.utils.preset_utils import (  # noqa: F401  (re-exported)
    BUILTIN_PRESETS,
    CONFIG_FILE,
    METADATA_FILE,
    MODEL_WEIGHTS_FILE,
    TASK_CONFIG_FILE,
    TASK_WEIGHTS_FILE,
    get_preset_loader,
    register_presets,
)
