"""The LLM writer's settings: defaults that work, and a bad value named in one line."""

from __future__ import annotations

import pytest

from openrouter_standin.settings import StandinSettings
from runtime.settings import settings_errors
from services.responder.settings import ResponderSettings


def test_the_defaults_are_templates_and_two_models_in_priority_order() -> None:
    settings = ResponderSettings()
    assert settings.openrouter_api_key is None
    assert settings.openrouter_base_url == "https://openrouter.ai"
    assert len(settings.llm_models) == 2 and all("/" in model for model in settings.llm_models)
    assert settings.llm_timeout_s <= settings.llm_budget_s <= 10


def test_the_models_are_a_comma_separated_list() -> None:
    assert settings_errors(ResponderSettings, "responder", {"RESPONDER_LLM_MODELS": "a/b, c/d:free"}) == []


@pytest.mark.parametrize(("environ", "line"), [
    ({"RESPONDER_LLM_MODELS": "gpt 4"}, "error: responder: RESPONDER_LLM_MODELS='gpt 4': 'gpt 4' is not an "
     "OpenRouter model id (vendor/name); e.g. RESPONDER_LLM_MODELS=google/gemini-2.5-flash-lite,openai/gpt-4.1-mini"),
    ({"RESPONDER_LLM_TEMPERATURE": "1.5"}, "error: responder: RESPONDER_LLM_TEMPERATURE=1.5: input should be less "
     "than or equal to 1; e.g. RESPONDER_LLM_TEMPERATURE=0.3"),
    ({"RESPONDER_LLM_TIMEOUT_S": "8", "RESPONDER_LLM_BUDGET_S": "5"},
     "error: responder: RESPONDER_LLM_BUDGET_S=5 must be at least RESPONDER_LLM_TIMEOUT_S=8"),
    ({"OPENROUTER_BASE_URL": "openrouter.ai"}, "error: responder: OPENROUTER_BASE_URL=openrouter.ai: string should "
     "match pattern '^https?://[^\\s/]+[^\\s]*$'; e.g. OPENROUTER_BASE_URL=https://openrouter.ai"),
])
def test_a_bad_value_is_one_line_naming_its_variable(environ: dict[str, str], line: str) -> None:
    assert settings_errors(ResponderSettings, "responder", environ) == [line]


def test_the_standin_reads_the_responders_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-shared")
    assert StandinSettings().api_key.get_secret_value() == "sk-or-v1-shared"


def test_the_standin_names_its_answer_modes() -> None:
    assert settings_errors(StandinSettings, "openrouter-standin", {"OPENROUTER_STANDIN_ANSWER": "poem"}) == [
        "error: openrouter-standin: OPENROUTER_STANDIN_ANSWER=poem: input should be 'rephrase' or 'draft'; "
        "e.g. OPENROUTER_STANDIN_ANSWER=rephrase (or draft)"]
