"""The registry's risk models, in scoring order; names are `scoring.models.model_name`."""
from __future__ import annotations

from ..errors import UsageError
from . import lasso, ost, published
from .models import ModelDefinition


def all_models() -> list[ModelDefinition]:
    return [ost.DEFINITION, published.DEFINITION, lasso.DEFINITION]


def definition(name: str) -> ModelDefinition:
    for model in all_models():
        if model.name == name:
            return model
    raise UsageError(f"Unknown model {name!r}; the registry's models are "
                     f"{', '.join(m.name for m in all_models())}.")
