"""A tiny moe from mlx-lm with random weights: prints its greedy tokens."""

from tiny_models import main

if __name__ == "__main__":
    main("moe")
