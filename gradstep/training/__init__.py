"""The main job behind ``gradstep train``: config, models, data, the loop, checkpoints, curves."""
