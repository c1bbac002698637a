"""lithe: right-sized machine-learning models over the same Rust library as the `lithe`
command line — tree ensembles for tables as scikit-learn estimators, a drop-in for
StatsForecast (`lithe.forecast`) and two-tower retrieval (`lithe.recommend`)."""

from ._lithe import __version__
from ._tables import GBDTClassifier, GBDTRegressor, RandomForestClassifier, RandomForestRegressor

__all__ = [
    "GBDTClassifier",
    "GBDTRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "__version__",
]
