"""lithe: right-sized machine-learning models — tree ensembles for tables as
scikit-learn estimators, over the same Rust library as the `lithe` command line."""

from ._lithe import __version__
from ._tables import GBDTClassifier, GBDTRegressor, RandomForestClassifier, RandomForestRegressor

__all__ = [
    "GBDTClassifier",
    "GBDTRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "__version__",
]
