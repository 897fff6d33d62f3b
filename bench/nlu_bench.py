"""Per-message NLU throughput and latency, next to a baseline measured in the same run.

    uv run python bench/nlu_bench.py [--parses 20000]

Parses the held-out texts one at a time, in process and single-threaded, repeated until at
least `--parses` parses, and reports parses/s with p50/p99 latency for:

- engine:   `NluEngine.parse` (intent + ranking + every entity rule + the pydantic response);
- baseline: a bare scikit-learn pipeline (word-unigram TF-IDF + logistic regression) calling
            `predict([text])` per message: intent only, no entities, no confidences.

The baseline's intent accuracy on the same held-out split is printed too.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from services.nlu.engine import DEMO_CATALOGUE, EngineConfig, NluEngine
from services.nlu.engine.training_data import load_training_data
from services.nlu.evaluate import EVAL_PATH, TRAIN_PATH

WARM_UP = 500


@dataclass(frozen=True, slots=True)
class Timing:
    parses: int
    seconds: float
    p50_ms: float
    p99_ms: float
    name: str = ""

    @property
    def per_second(self) -> float:
        return self.parses / self.seconds

    def line(self) -> str:
        return (
            f"{self.name:<10}{self.parses:>8} parses {self.per_second:>10,.0f}/s"
            f"   p50 {self.p50_ms:.3f} ms   p99 {self.p99_ms:.3f} ms"
        )

    @classmethod
    def of(cls, latencies_ns: Sequence[int], seconds: float, name: str = "") -> Timing:
        ordered = sorted(latencies_ns)
        return cls(
            parses=len(ordered),
            seconds=seconds,
            p50_ms=statistics.median(ordered) / 1e6,
            p99_ms=ordered[math.ceil(0.99 * len(ordered)) - 1] / 1e6,
            name=name,
        )


def measure(name: str, call: Callable[[str], object], texts: Sequence[str], *, warm_up: int = WARM_UP) -> Timing:
    """Call `call` once per text, timing each call; garbage collection runs between, not during."""
    for text in texts[:warm_up]:
        call(text)
    gc.collect()
    latencies: list[int] = []
    clock = time.perf_counter_ns
    started = clock()
    for text in texts:
        before = clock()
        call(text)
        latencies.append(clock() - before)
    return Timing.of(latencies, (clock() - started) / 1e9, name)


def baseline_pipeline(texts: Sequence[str], labels: Sequence[str]) -> Pipeline:
    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=2000, random_state=0))
    return pipeline.fit(list(texts), list(labels))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="NLU per-message benchmark")
    parser.add_argument("--parses", type=int, default=20_000, help="minimum number of parses per contender")
    args = parser.parse_args(argv)

    train = load_training_data(TRAIN_PATH)
    held_out = load_training_data(EVAL_PATH)
    assert held_out.reference_time is not None
    reference_time = held_out.reference_time
    eval_texts = [example.text for example in held_out.examples]
    texts = eval_texts * math.ceil(args.parses / len(eval_texts))

    started = time.perf_counter()
    engine = NluEngine.train(TRAIN_PATH, catalogue=DEMO_CATALOGUE, config=EngineConfig())
    engine_training = time.perf_counter() - started
    started = time.perf_counter()
    baseline = baseline_pipeline([e.text for e in train.examples], [e.intent for e in train.examples])
    baseline_training = time.perf_counter() - started

    baseline_accuracy = sum(
        baseline.predict([example.text])[0] == example.intent for example in held_out.examples
    ) / len(held_out.examples)
    engine_accuracy = sum(
        engine.parse(example.text, reference_time=reference_time).intent.name == example.intent
        for example in held_out.examples
    ) / len(held_out.examples)

    timings = [
        measure("engine", lambda text: engine.parse(text, reference_time=reference_time), texts),
        measure("baseline", lambda text: baseline.predict([text]), texts),
    ]
    print(f"{len(eval_texts)} held-out texts repeated to {len(texts)} parses, one at a time, one process")
    print(f"engine   {engine.model_version}: trained in {engine_training:.1f} s, intent accuracy {engine_accuracy:.3f}")
    print(
        f"baseline word-unigram TF-IDF + LogisticRegression, predict() per message: "
        f"trained in {baseline_training:.1f} s, intent accuracy {baseline_accuracy:.3f}, no entities"
    )
    for timing in timings:
        print(timing.line())
    engine_timing, baseline_timing = timings
    print(f"engine/baseline throughput ratio: {engine_timing.per_second / baseline_timing.per_second:.2f}x")


if __name__ == "__main__":
    main()
