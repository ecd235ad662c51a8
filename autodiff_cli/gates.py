"""The gates and the default training settings: plain data, cheap to import (the CLI reads
its defaults from here without loading the trainer)."""

from __future__ import annotations

INPUTS: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (1, 0), (1, 1))
GATES: dict[str, tuple[int, ...]] = {
    "and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "nand": (1, 1, 1, 0),
    "nor": (1, 0, 0, 0), "xor": (0, 1, 1, 0), "xnor": (1, 0, 0, 1),
}
# of the 16 two-input tables only these two need a hidden layer
NOT_SEPARABLE = ((0, 1, 1, 0), (1, 0, 0, 1))
ACTIVATIONS = ("sigmoid", "tanh", "relu")
LOSSES = ("mse", "bce")
OPTIMIZERS = ("sgd", "momentum", "adam")  # train's --optimizer (train_loop.py)

# Defaults: with these, xor converges for every seed 0..999, in at most 323 epochs
# (benchmarks/train_gate.py checks 0..99); the textbook 2-2-1 sigmoid net with lr 1
# converges for 87 of seeds 0..99.
HIDDEN: tuple[int, ...] = (8,)
ACTIVATION = "tanh"
LOSS = "mse"
LR = 1.0
EPOCHS = 5000
TOL = 0.01
SEED = 0
GRID = (33, 17)  # decision-boundary picture: columns (x1) by rows (x2)
HISTORY_POINTS = 200  # loss_history in JSON: at most this many evenly spaced epochs + the last
