"""A 4-layer, 4-head, 128-wide transformer LM (64 tokens, batch 32, AdamW): training step.

Goal (issue 8): at least 0.6x torch's steps per second.
Run: ``.venv/bin/python bench/transformer.py``
"""

from _train import main

if __name__ == "__main__":
    main(["transformer-32"], "Transformer LM training step")
