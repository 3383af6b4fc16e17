"""Loss surfaces: SymPy expressions with gradients derived symbolically (SPEC §5).

    from surfaces import SURFACES, get_surface
    s = get_surface("rosenbrock")
    s.f(X, Y); s.grad(X, Y); s.domain; s.minima; s.f_min; s.start
"""

from .catalog import BUILTIN_SURFACES
from .data import BUILTIN_DATA_SURFACES, DataSurface, from_data
from .formula import surface_from_formula
from .surface import Surface, x, y

SURFACES: dict[str, Surface] = {s.id: s for s in (*BUILTIN_SURFACES, *BUILTIN_DATA_SURFACES)}


def get_surface(surface_id: str) -> Surface:
    """The built-in surface with this id; ValueError naming the valid ids otherwise."""
    if not isinstance(surface_id, str) or surface_id not in SURFACES:
        raise ValueError(
            f"unknown surface {surface_id!r}; choose one of: {', '.join(SURFACES)}"
        )
    return SURFACES[surface_id]


__all__ = ["SURFACES", "DataSurface", "Surface", "from_data", "get_surface", "surface_from_formula", "x", "y"]
