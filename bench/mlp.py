"""MLP 784-512-256-10 training step (SGD momentum) at batch 64 and 512: gradstep vs torch (vs tinygrad).

Goal (issue 8): at least 1.0x torch's steps per second; peak RSS at most 1.5x torch's.
Run: ``.venv/bin/python bench/mlp.py``
"""

from _train import main

if __name__ == "__main__":
    main(["mlp-64", "mlp-512"], "MLP training step")
