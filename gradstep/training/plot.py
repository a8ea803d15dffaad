"""``curves.png``: loss, accuracy and lr against epochs (matplotlib is an optional extra)."""

from __future__ import annotations


def plot_curves(rows, path):
    """Draw the curves; returns a note instead when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install 'gradstep[demo]'); no curves.png written"
    epochs = [r["epoch"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(epochs, [r["train_loss"] for r in rows], label="train")
    axes[0].plot(epochs, [r["test_loss"] for r in rows], label="test")
    axes[0].set_title("loss")
    axes[0].legend()
    axes[1].plot(epochs, [100 * r["test_acc"] for r in rows], color="tab:green")
    axes[1].set_title("test accuracy (%)")
    axes[2].plot(epochs, [r["lr"] for r in rows], color="tab:orange")
    axes[2].set_title("learning rate")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None
