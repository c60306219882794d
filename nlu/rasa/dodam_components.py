"""Dodam's own Rasa component, loaded by Rasa (Python 3.10, .venv-rasa); the bot never imports it.

Why not DIET: on Dodam's 5,000 short multilingual examples a linear model over the same sparse features
(TF-IDF-scaled word and character n-gram counts) scored higher on the held-out sets and trains in seconds
instead of about twenty minutes (measurements in the README, "Understanding free text").
Rasa's built-in LogisticRegressionClassifier fixes C=1 on raw counts; this one scales the counts first and
lets C be configured.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

# What skops may load besides its defaults: nothing but the sparse matrix holding the IDF weights.
TRUSTED_TYPES = {"scipy.sparse._csr.csr_matrix"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TfidfLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Logistic regression on TF-IDF-scaled sparse features (sublinear term frequency)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 20.0, "max_iter": 5000}

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        # A Pipeline keeps the scaling learnt in training with the classifier, and persists with it.
        self.clf = Pipeline(
            [
                ("tfidf", TfidfTransformer(sublinear_tf=True)),
                (
                    "lr",
                    LogisticRegression(
                        C=float(self.config["C"]),
                        max_iter=int(self.config["max_iter"]),
                        solver=self.config["solver"],
                        tol=self.config["tol"],
                        random_state=self.config["random_state"],
                        class_weight="balanced",
                    ),
                ),
            ]
        )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TfidfLogisticRegressionClassifier:
        """Load the trained pipeline; its IDF weights are a scipy sparse matrix, which skops asks to trust."""
        import skops.io as sio

        with model_storage.read_from(resource) as model_dir:
            path = model_dir / f"{resource.name}.skops"
            untrusted = sio.get_untrusted_types(file=path)
            unexpected = set(untrusted) - TRUSTED_TYPES
            if unexpected:
                raise ValueError(f"refusing to load {path.name}: unexpected types {sorted(unexpected)}")
            component = cls(config, execution_context.node_name, model_storage, resource)
            component.clf = sio.load(path, trusted=untrusted)
            return component
