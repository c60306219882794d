"""Mental-health screening questionnaires: instruments as data, and exact scoring.

No Telegram here: the conversation that asks the questions lives elsewhere and calls :func:`score`.
"""

from bot.screening.instruments import (
    INSTRUMENTS_DIR,
    Instrument,
    InstrumentError,
    Item,
    Option,
    RiskRule,
    Subscale,
    Translation,
    UrgentRule,
    load_instruments,
)
from bot.screening.scoring import Result, Risk, score

__all__ = [
    "INSTRUMENTS_DIR",
    "Instrument",
    "InstrumentError",
    "Item",
    "Option",
    "Result",
    "Risk",
    "RiskRule",
    "Subscale",
    "Translation",
    "UrgentRule",
    "load_instruments",
    "score",
]
