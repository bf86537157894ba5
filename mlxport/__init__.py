"""mlxport: does each MLX op run on this device, is it right, and how fast is it."""

__version__ = "0.1.0"
