"""Pure NLU engine: Spanish WhatsApp messages -> intent + resolved entities, in Rasa's shape.

engine = NluEngine.train(DEFAULT_DATA_PATH, catalogue=DEMO_CATALOGUE, config=EngineConfig())
result = engine.parse("quiero el pack de 10 para mañana a las 5", reference_time=received_at)
"""

from .engine import (
    DEFAULT_DATA_PATH,
    DEMO_CATALOGUE,
    DialogueActPrediction,
    EngineConfig,
    EntityPrediction,
    IntentPrediction,
    NluEngine,
    ParseResult,
    SecondRequestPrediction,
)
from .errors import EmptyText, InvalidConfig, NaiveReferenceTime, NluError, TrainingDataError

__all__ = [
    "DEFAULT_DATA_PATH",
    "DEMO_CATALOGUE",
    "DialogueActPrediction",
    "EmptyText",
    "EngineConfig",
    "EntityPrediction",
    "IntentPrediction",
    "InvalidConfig",
    "NaiveReferenceTime",
    "NluEngine",
    "NluError",
    "ParseResult",
    "SecondRequestPrediction",
    "TrainingDataError",
]
