"""portnet's version (read by the build, ``portnet --version`` and the model files)."""

__version__ = "0.1.0"
