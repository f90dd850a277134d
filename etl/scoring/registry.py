"""The registry's models in scoring order: the one module that names every model definition.

It sits above `models` (the shared parts) and the modules that define a model (`ost`,
`published`, `lasso`), none of which import it, so imports point one way.
"""
from __future__ import annotations

from ..errors import UsageError
from . import lasso, ost, published
from .models import ModelDefinition


def all_models() -> list[ModelDefinition]:
    """In scoring order; names are the `model_name` values in scoring.models."""
    return [ost.DEFINITION, published.DEFINITION, lasso.DEFINITION]


def definition(name: str) -> ModelDefinition:
    for model in all_models():
        if model.name == name:
            return model
    raise UsageError(f"Unknown model {name!r}; the registry's models are "
                     f"{', '.join(m.name for m in all_models())}.")
