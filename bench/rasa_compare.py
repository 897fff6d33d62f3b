"""Our nlu next to Rasa 3.6's DIET pipeline, trained and tested on the same YAML, on this machine.

    uv run python bench/rasa_compare.py --rasa-bin /tmp/rasa36/bin/rasa [--epochs 100] [--seeds 0 1 2]
                                        [--requests 1000] [--in-process 20000] [--json results.json]

Rasa 3.6 needs Python 3.8-3.10 (the project runs 3.11), so it lives in its own virtualenv, never
in the project's lock file. From PyPI, with pyenv's Python 3.10 for instance:

    pyenv install 3.10.13                       # any Python 3.10 will do
    ~/.pyenv/versions/3.10.13/bin/python -m venv /tmp/rasa36
    /tmp/rasa36/bin/pip install "rasa==3.6.20" "setuptools<70"   # Rasa imports pkg_resources
    /tmp/rasa36/bin/rasa --version

What it does, in a temporary directory (removed afterwards unless --keep):

1. trains our engine on services/nlu/data/nlu.yml and scores it on eval.yml
   (services.nlu.evaluate: intent accuracy and macro F1, entity span precision/recall and value
   accuracy);
2. per seed, `rasa train nlu` with Rasa 3's default recipe (WhitespaceTokenizer, RegexFeaturizer,
   LexicalSyntacticFeaturizer, CountVectorsFeaturizer word and char_wb 1-4, DIETClassifier,
   EntitySynonymMapper; `language: es`); no FallbackClassifier, whose `nlu_fallback` answers
   could only count as errors here (our engine has no such class either: actions applies its
   own confidence threshold);
3. per seed, Rasa's own `rasa test nlu --nlu eval.yml` (its intent report and DIET's entity
   report, token-level), and the model loaded with Rasa's Python API (`Agent.load`,
   `parse_message`) to parse every evaluation sentence, scored with *our* scorer, and to time
   in-process parses one at a time;
4. serves the first seed's model (`rasa run --enable-api`, 127.0.0.1, a free port) and our
   `/model/parse` (the same FastAPI app the nlu service serves, in its own process under
   uvicorn), and times N sequential `POST /model/parse` on each from this process over one
   keep-alive connection (same client, same texts, same body `{"text": ...}`);
5. prints the table with ratios (and writes it as JSON with --json).

Without --rasa-bin it prints how to install Rasa and exits 0 (so `make bench` still runs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.nlu_bench import Timing, measure
from services.nlu.adapters.rasa import parse_rasa_response
from services.nlu.engine import DEMO_CATALOGUE, EngineConfig, NluEngine, ParseResult
from services.nlu.engine.training_data import TrainingData, load_training_data
from services.nlu.evaluate import EVAL_PATH, TRAIN_PATH, Report, evaluate

WARM_UP = 200
SERVER_START_TIMEOUT_S = 600.0
TIME_ENTITIES = ("fecha", "hora")

RASA_CONFIG = """\
# Rasa 3's default NLU recipe (the `rasa init` pipeline), for Spanish.
recipe: default.v1
assistant_id: wa-orchestrator-compare
language: es
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: {epochs}
    random_seed: {seed}
  - name: EntitySynonymMapper
policies: []
"""

# Run with Rasa's own Python: load the model, parse every evaluation sentence, time N parses.
RASA_IN_PROCESS = textwrap.dedent("""\
    import asyncio, json, logging, sys, time
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    from rasa.core.agent import Agent

    model, texts_file, timed, warm_up, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    texts = json.load(open(texts_file, encoding="utf-8"))
    started = time.perf_counter()
    agent = Agent.load(model)
    load_s = time.perf_counter() - started

    async def main():
        answers = [await agent.parse_message(text) for text in texts]
        cycle = (texts * (timed // len(texts) + 1))
        for text in cycle[:warm_up]:
            await agent.parse_message(text)
        latencies = []
        clock = time.perf_counter_ns
        began = clock()
        for text in cycle[:timed]:
            before = clock()
            await agent.parse_message(text)
            latencies.append(clock() - before)
        total_s = (clock() - began) / 1e9
        return answers, latencies, total_s

    answers, latencies, total_s = asyncio.run(main())
    keep = ("text", "intent", "entities", "intent_ranking")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"load_s": load_s, "total_s": total_s, "latencies_ns": latencies,
                   "answers": [{k: a.get(k) for k in keep} for a in answers]}, f, default=str)
""")


@dataclass(frozen=True, slots=True)
class Quality:
    """One model's scores on the held-out split, all from services.nlu.evaluate's scorer."""

    accuracy: float
    macro_f1: float
    entity_precision: float  # span overlap, micro over every entity type
    entity_recall: float
    entity_f1: float
    fecha_value_accuracy: float
    hora_value_accuracy: float
    other_value_accuracy: float  # paquete, email, referencia, nombre together

    @classmethod
    def of(cls, report: Report) -> Quality:
        gold = sum(s.gold for s in report.entities)
        predicted = sum(s.predicted for s in report.entities)
        matched_gold = sum(round(s.recall * s.gold) for s in report.entities)
        matched_predicted = sum(round(s.precision * s.predicted) for s in report.entities)
        precision = matched_predicted / predicted if predicted else 0.0
        recall = matched_gold / gold if gold else 0.0
        others = [s for s in report.entities if s.entity not in TIME_ENTITIES]
        other_gold = sum(s.gold for s in others)
        return cls(
            accuracy=report.accuracy,
            macro_f1=report.macro_f1,
            entity_precision=precision,
            entity_recall=recall,
            entity_f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            fecha_value_accuracy=report.value_accuracy("fecha"),
            hora_value_accuracy=report.value_accuracy("hora"),
            other_value_accuracy=(
                sum(round(s.value_accuracy * s.gold) for s in others) / other_gold if other_gold else 0.0
            ),
        )


@dataclass(frozen=True, slots=True)
class RasaRun:
    seed: int
    train_s: float
    load_s: float
    quality: Quality
    rasa_test_intent_accuracy: float | None
    rasa_test_intent_macro_f1: float | None
    rasa_test_entity_micro_f1: float | None
    in_process: Timing


class _Replayed:
    """Answers `parse` from results computed elsewhere, so `evaluate` can score Rasa's answers."""

    def __init__(self, results: dict[str, ParseResult]) -> None:
        self._results = results

    def parse(self, text: str, *, reference_time: datetime) -> ParseResult:
        return self._results[text]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rasa_env() -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONWARNINGS": "ignore"}


def run_logged(command: Sequence[str], *, cwd: Path, log: Path, what: str) -> float:
    """Run `command`, its output to `log`; the seconds it took. Exits with the log's tail on failure."""
    print(f"  {what} ...", flush=True)
    started = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=rasa_env(),
                              check=False).returncode
    seconds = time.perf_counter() - started
    if code != 0:
        tail = "".join(log.read_text().splitlines(True)[-30:])
        sys.exit(f"{what} failed (exit {code}); last lines of {log}:\n{tail}")
    print(f"  {what}: {seconds:.0f} s", flush=True)
    return seconds


def train_rasa(rasa_bin: Path, work: Path, *, seed: int, epochs: int) -> tuple[Path, float]:
    config = work / f"config-seed{seed}.yml"
    config.write_text(RASA_CONFIG.format(epochs=epochs, seed=seed))
    name = f"diet-e{epochs}-s{seed}"
    seconds = run_logged(
        [str(rasa_bin), "train", "nlu", "--config", config.name, "--nlu", "nlu.yml", "--out", "models",
         "--fixed-model-name", name],
        cwd=work, log=work / f"train-seed{seed}.log", what=f"rasa train nlu (seed {seed}, {epochs} epochs)",
    )
    return work / "models" / f"{name}.tar.gz", seconds


def rasa_test(rasa_bin: Path, work: Path, model: Path, seed: int) -> tuple[float, float, float]:
    """Rasa's own report: intent accuracy, intent macro F1, DIET entity micro F1 (token-level)."""
    out = work / f"results-seed{seed}"
    run_logged([str(rasa_bin), "test", "nlu", "--nlu", "eval.yml", "--model", str(model), "--out", out.name],
               cwd=work, log=work / f"test-seed{seed}.log", what=f"rasa test nlu (seed {seed})")
    intents = json.loads((out / "intent_report.json").read_text())
    entities = json.loads((out / "DIETClassifier_report.json").read_text())
    return float(intents["accuracy"]), float(intents["macro avg"]["f1-score"]), float(
        entities["micro avg"]["f1-score"]
    )


def rasa_in_process(
    rasa_python: Path, work: Path, model: Path, texts: Sequence[str], *, timed: int
) -> tuple[list[Any], float, Timing]:
    texts_file, out = work / "eval-texts.json", work / f"in-process-{model.stem}.json"
    texts_file.write_text(json.dumps(list(texts), ensure_ascii=False), encoding="utf-8")
    script = work / "rasa_in_process.py"
    script.write_text(RASA_IN_PROCESS)
    run_logged([str(rasa_python), script.name, str(model), texts_file.name, str(timed), str(WARM_UP), out.name],
               cwd=work, log=work / f"in-process-{model.stem}.log", what="Rasa Agent.load + parse_message")
    data = json.loads(out.read_text(encoding="utf-8"))
    return data["answers"], float(data["load_s"]), Timing.of(data["latencies_ns"], data["total_s"])


def time_in_process(call: Callable[[str], object], texts: Sequence[str]) -> Timing:
    return measure("", call, texts, warm_up=WARM_UP)


def time_http(url: str, texts: Sequence[str]) -> Timing:
    """N sequential `POST /model/parse`, one keep-alive connection, each response read and checked."""
    with httpx.Client(base_url=url, timeout=30.0) as client:

        def call(text: str) -> None:
            response = client.post("/model/parse", json={"text": text})
            response.raise_for_status()
            if not response.json()["intent"]["name"]:
                raise RuntimeError(f"{url}: no intent for {text!r}")

        return time_in_process(call, texts)


@contextmanager
def server(command: Sequence[str], *, url: str, cwd: Path, log: Path, what: str) -> Iterator[None]:
    """Start a server process, wait until `GET {url}/status` answers 200, stop it afterwards."""
    print(f"  starting {what} ...", flush=True)
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=rasa_env(),
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                sys.exit(f"{what} exited with {process.returncode}; see {log}")
            try:
                if httpx.get(f"{url}/status", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"{what} did not answer /status within {SERVER_START_TIMEOUT_S:.0f} s; see {log}")
            time.sleep(0.5)
        print(f"  {what} ready in {time.perf_counter() - started:.0f} s", flush=True)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_builtin(port: int) -> None:
    """The nlu service's Rasa-compatible app, alone in this process (the benchmark's server side)."""
    import uvicorn

    from services.nlu.http import create_app

    engine = NluEngine.train(TRAIN_PATH, catalogue=DEMO_CATALOGUE, config=EngineConfig())
    uvicorn.run(create_app(engine), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs else "-"


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def spread(values: Sequence[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(mean(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def table(ours: Quality, ours_train_s: float, ours_in_process: Timing, ours_http: Timing,
          runs: Sequence[RasaRun], rasa_http: Timing, epochs: int) -> str:
    seeds = ", ".join(str(run.seed) for run in runs)
    header = f"Rasa 3.6.20 DIET ({epochs} epochs, seed{'s' if len(runs) > 1 else ''} {seeds})"

    def q(get: Callable[[Quality], float]) -> tuple[str, str, str]:
        theirs = [get(run.quality) for run in runs]
        return f"{get(ours):.3f}", spread(theirs, ".3f"), f"{get(ours) - mean(theirs):+.3f}"

    def rasa_only(get: Callable[[RasaRun], float | None]) -> tuple[str, str, str]:
        values = [v for run in runs if (v := get(run)) is not None]
        return "-", spread(values, ".3f") if values else "not run", ""

    in_process = [run.in_process for run in runs]
    rasa_per_s = mean([t.per_second for t in in_process])
    rows: list[tuple[str, tuple[str, str, str]]] = [
        ("intent accuracy (held out)", q(lambda x: x.accuracy)),
        ("intent macro F1 (held out)", q(lambda x: x.macro_f1)),
        ("entity span F1, micro (same scorer)", q(lambda x: x.entity_f1)),
        ("  precision / recall", (f"{ours.entity_precision:.3f} / {ours.entity_recall:.3f}",
                                  f"{mean([r.quality.entity_precision for r in runs]):.3f} / "
                                  f"{mean([r.quality.entity_recall for r in runs]):.3f}", "")),
        ("fecha value accuracy (resolved date)", q(lambda x: x.fecha_value_accuracy)),
        ("hora value accuracy (HH:MM)", q(lambda x: x.hora_value_accuracy)),
        ("paquete/email/referencia/nombre value acc.", q(lambda x: x.other_value_accuracy)),
        ("`rasa test nlu`: intent accuracy", rasa_only(lambda r: r.rasa_test_intent_accuracy)),
        ("`rasa test nlu`: intent macro F1", rasa_only(lambda r: r.rasa_test_intent_macro_f1)),
        ("`rasa test nlu`: DIET entity micro F1", rasa_only(lambda r: r.rasa_test_entity_micro_f1)),
        ("training time", (f"{ours_train_s:.1f} s", spread([r.train_s for r in runs], ".0f") + " s",
                           ratio(mean([r.train_s for r in runs]), ours_train_s) + " faster")),
        ("in-process parses/s (one at a time)", (f"{ours_in_process.per_second:,.0f}",
                                                 spread([t.per_second for t in in_process], ",.0f"),
                                                 ratio(ours_in_process.per_second, rasa_per_s))),
        ("in-process p50 / p99", (f"{ours_in_process.p50_ms:.2f} / {ours_in_process.p99_ms:.2f} ms",
                                  f"{mean([t.p50_ms for t in in_process]):.2f} / "
                                  f"{mean([t.p99_ms for t in in_process]):.2f} ms",
                                  ratio(mean([t.p99_ms for t in in_process]), ours_in_process.p99_ms)
                                  + " lower p99")),
        ("HTTP /model/parse parses/s (sequential)", (f"{ours_http.per_second:,.0f}", f"{rasa_http.per_second:,.0f}",
                                                     ratio(ours_http.per_second, rasa_http.per_second))),
        ("HTTP p50 / p99", (f"{ours_http.p50_ms:.2f} / {ours_http.p99_ms:.2f} ms",
                            f"{rasa_http.p50_ms:.2f} / {rasa_http.p99_ms:.2f} ms",
                            ratio(rasa_http.p99_ms, ours_http.p99_ms) + " lower p99")),
    ]
    lines = [f"| metric | ours (builtin) | {header} | ours vs Rasa |", "|---|---|---|---|"]
    lines += [f"| {name} | {a} | {b} | {c} |" for name, (a, b, c) in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nlu vs Rasa 3.6 DIET on the same data, same machine")
    parser.add_argument("--rasa-bin", type=Path, help="the `rasa` executable of a Rasa 3.6 virtualenv")
    parser.add_argument("--epochs", type=int, default=100, help="DIETClassifier epochs (Rasa's default is 300)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one Rasa model per DIET random seed")
    parser.add_argument("--requests", type=int, default=1000, help="sequential HTTP requests per server")
    parser.add_argument("--in-process", type=int, default=20_000, help="in-process parses of our engine")
    parser.add_argument("--rasa-in-process", type=int, default=2_000, help="in-process parses of Rasa")
    parser.add_argument("--skip-rasa-test", action="store_true", help="do not run `rasa test nlu`")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (models, logs)")
    parser.add_argument("--serve-builtin", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve_builtin:
        serve_builtin(args.serve_builtin)
        return 0
    if args.rasa_bin is None:
        print("skipped: no --rasa-bin given.")
        print(__doc__)
        return 0
    rasa_bin = args.rasa_bin.resolve()
    rasa_python = rasa_bin.parent / "python"
    if not rasa_bin.is_file() or not rasa_python.is_file():
        sys.exit(f"{rasa_bin} is not the rasa executable of a virtualenv (no python next to it)")
    version = subprocess.run([str(rasa_bin), "--version"], capture_output=True, text=True, env=rasa_env(),
                             check=False).stdout
    rasa_version = next((line.split(":", 1)[1].strip() for line in version.splitlines()
                         if line.startswith("Rasa Version")), "unknown")

    held_out: TrainingData = load_training_data(EVAL_PATH)
    assert held_out.reference_time is not None
    reference_time = held_out.reference_time
    texts = [example.text for example in held_out.examples]
    work = Path(tempfile.mkdtemp(prefix="rasa-compare-"))
    print(f"working in {work}; Rasa {rasa_version}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    try:
        shutil.copy(TRAIN_PATH, work / "nlu.yml")
        shutil.copy(EVAL_PATH, work / "eval.yml")

        print("ours:")
        started = time.perf_counter()
        engine = NluEngine.train(TRAIN_PATH, catalogue=DEMO_CATALOGUE, config=EngineConfig())
        ours_train_s = time.perf_counter() - started
        ours_quality = Quality.of(evaluate(engine, held_out))
        ours_in_process = time_in_process(
            lambda text: engine.parse(text, reference_time=reference_time),
            (texts * (args.in_process // len(texts) + 1))[: args.in_process],
        )
        print(f"  trained in {ours_train_s:.1f} s, {engine.model_version}")

        runs: list[RasaRun] = []
        models: list[Path] = []
        for seed in args.seeds:
            print(f"Rasa, seed {seed}:")
            model, train_s = train_rasa(rasa_bin, work, seed=seed, epochs=args.epochs)
            models.append(model)
            answers, load_s, in_process = rasa_in_process(rasa_python, work, model, texts,
                                                          timed=args.rasa_in_process)
            results = {text: parse_rasa_response(answer, text) for text, answer in zip(texts, answers, strict=True)}
            quality = Quality.of(evaluate(cast(NluEngine, _Replayed(results)), held_out))
            test: tuple[float | None, float | None, float | None] = (
                (None, None, None) if args.skip_rasa_test else rasa_test(rasa_bin, work, model, seed)
            )
            runs.append(RasaRun(seed=seed, train_s=train_s, load_s=load_s, quality=quality,
                                rasa_test_intent_accuracy=test[0], rasa_test_intent_macro_f1=test[1],
                                rasa_test_entity_micro_f1=test[2], in_process=in_process))

        print("HTTP, sequential requests:")
        http_texts = (texts * (args.requests // len(texts) + 1))[: args.requests]
        rasa_port, ours_port = free_port(), free_port()
        rasa_url, ours_url = f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{ours_port}"
        with server([str(rasa_bin), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(rasa_port),
                     "-m", str(models[0])], url=rasa_url, cwd=work, log=work / "rasa-run.log",
                    what=f"rasa run ({models[0].name})"):
            rasa_http = time_http(rasa_url, http_texts)
        with server([sys.executable, str(Path(__file__).resolve()), "--serve-builtin", str(ours_port)],
                    url=ours_url, cwd=Path.cwd(), log=work / "ours-run.log", what="our nlu /model/parse"):
            ours_http = time_http(ours_url, http_texts)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{len(texts)} held-out sentences; HTTP: {args.requests} sequential requests per server from one "
          f"client process; in process: {ours_in_process.parses} (ours) / {runs[0].in_process.parses} (Rasa) "
          f"parses one at a time")
    print(table(ours_quality, ours_train_s, ours_in_process, ours_http, runs, rasa_http, args.epochs))
    for run in runs:
        print(f"seed {run.seed}: accuracy {run.quality.accuracy:.3f}, macro F1 {run.quality.macro_f1:.3f}, "
              f"entity F1 {run.quality.entity_f1:.3f}, trained in {run.train_s:.0f} s, model load {run.load_s:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "rasa_version": rasa_version, "epochs": args.epochs, "cpus": os.cpu_count(),
            "ours": {"quality": asdict(ours_quality), "train_s": ours_train_s,
                     "in_process": asdict(ours_in_process), "http": asdict(ours_http)},
            "rasa": {"runs": [asdict(run) for run in runs], "http": asdict(rasa_http)},
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
