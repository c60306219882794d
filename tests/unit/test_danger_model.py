"""The danger model's own scoring agrees with scikit-learn's, and reads every script the mothers write."""

from __future__ import annotations

import numpy as np
import pytest

from nlu.evaluation import load_safety_set
from nlu.safety.model import default_model, sentences

SAMPLE = [*[str(m["text"]) for m in load_safety_set("regression")][::25], "", "ㅠㅠ", "a" * 3000, "🙂🙂"]


@pytest.mark.parametrize("text", SAMPLE)
def test_fast_scoring_equals_predict_proba(text: str) -> None:
    model = default_model()
    expected = model._pipeline.predict_proba([text])[0]
    assert np.allclose(model.probabilities(text), expected, atol=1e-6)


def test_a_danger_buried_in_a_long_message_is_scored_by_its_sentence() -> None:
    model = default_model()
    routine = "Hello, the vaccine form asks for the account number. Is my husband's OK? Thank you so much."
    danger = "Last night I stood at the window of our 15th floor flat for an hour and thought about jumping"
    buried = f"{routine} {danger}. {routine}"
    assert sentences(buried)
    assert model.score(buried).danger >= model.score(danger).danger - 1e-9
    assert model.score(buried).danger > model.score(routine).danger


def test_digits_alone_are_left_to_the_facts() -> None:
    assert default_model().score("2027.3.5").danger == 0.0
