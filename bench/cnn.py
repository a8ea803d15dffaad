"""CNN training steps: LeNet-like at batch 64 on 1x28x28 and a wider CNN on 3x32x32 at batch 128.

Goal (issue 8): at least 0.7x torch's steps per second.
Run: ``.venv/bin/python bench/cnn.py``
"""

from _train import main

if __name__ == "__main__":
    main(["lenet-64", "widecnn-128"], "CNN training step")
