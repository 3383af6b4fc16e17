"""Colours and labels shared by every view."""

from optimizers import OPTIMIZERS

# Paul Tol's "muted" scheme: nine colours distinguishable under the common colour-vision
# deficiencies, readable on the light contour background.
PALETTE = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499"]
OPTIMIZER_COLORS = dict(zip(OPTIMIZERS, PALETTE))
