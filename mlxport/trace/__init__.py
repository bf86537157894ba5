"""``mlxport trace`` and ``mlxport replay``: a program's own MLX calls, checked on every target."""
