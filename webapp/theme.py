"""Colours and labels shared by every view."""

from optimizers import EXTRAS, OPTIMIZERS

# Paul Tol's "muted" scheme: nine colours distinguishable under the common colour-vision
# deficiencies, readable on the light contour background.
PALETTE = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499"]
OPTIMIZER_COLORS = dict(zip(OPTIMIZERS, PALETTE))

# The opt-in extras (AMSGrad, AdamW, NAdam, RAdam): vermillion (Okabe–Ito), Tol's vibrant blue, a
# dark brown and black, picked from Tol's and Okabe–Ito's colour-blind-safe sets for their distance
# from the nine and from each other in CIELAB under normal vision and simulated protanopia,
# deuteranopia and tritanopia (at least ΔE 10.7; the nine's own closest pair is 15.6), and dark
# enough for the light contour.
EXTRA_PALETTE = ["#D55E00", "#0077BB", "#663333", "#000000"]
OPTIMIZER_COLORS.update(zip(EXTRAS, EXTRA_PALETTE))
