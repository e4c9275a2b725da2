"""The Ask AI connector against a local server speaking the chat-completions protocol."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orchestration import connections
from orchestration.connectors import registry
from orchestration.connectors.ai import AskAIConnector, InvalidAnswer, answer_fields, check_answer
from orchestration.connectors.base import ConnectorError
from orchestration.models import Connection

pytestmark = pytest.mark.django_db

KEY = "sk-test-0123456789abcdef"
FIELDS = [
    {"name": "vendor", "type": "string", "description": "Who sent the invoice"},
    {"name": "amount", "type": "number"},
    {"name": "category", "type": "string", "choices": ["IT hardware", "Office supplies", "Other"]},
]


def completion(answer: Any, *, finish: str = "stop") -> dict[str, Any]:
    content = answer if isinstance(answer, str) else json.dumps(answer)
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "local-model-1",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


@pytest.fixture
def model_server(http_server: Any) -> Any:
    connection = Connection(
        name="models", base_url=http_server.url + "/v1", settings={"model": "local-model"}
    )
    connections.store_headers(connection, {"Authorization": f"Bearer {KEY}"})
    connection.save()
    return http_server


def ask(data: dict[str, Any] | None = None, **config: Any) -> dict[str, Any]:
    settings = {
        "connection": "models",
        "instruction": "Read this invoice and extract the vendor, amount and category:\n{{invoice_text}}",
        "answer_fields": json.dumps(FIELDS),
        **config,
    }
    return registry.get("ai.ask").run(
        settings, data or {"invoice_text": "ACME Ltd, 3 laptops, 4,200.00"}, "step-7"
    )


GOOD = {"vendor": "ACME Ltd", "amount": 4200, "category": "IT hardware"}


def test_registered_under_its_name_with_declared_outputs() -> None:
    connector = registry.get("ai.ask")
    assert isinstance(connector, AskAIConnector)
    assert connector.label == "Ask AI"
    assert {o.name for o in connector.outputs} >= {"answer", "usage", "duration_ms"}


def test_extracts_typed_values_and_records_conversation_tokens_and_time(model_server: Any) -> None:
    model_server.answer({"body": completion(GOOD)})

    result = ask(max_tokens="300")

    assert result["answer"] == {"vendor": "ACME Ltd", "amount": 4200.0, "category": "IT hardware"}
    assert isinstance(result["answer"]["amount"], float)
    assert result["usage"] == {"prompt": 100, "answer": 20, "total": 120}
    assert result["model"] == "local-model-1" and result["calls"] == 1
    assert isinstance(result["duration_ms"], int)
    (request,) = model_server.received
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    sent = request.json()
    assert sent["model"] == "local-model"
    assert sent["max_tokens"] == 300  # the step's budget
    assert sent["response_format"]["type"] == "json_schema"
    schema = sent["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["vendor", "amount", "category"]
    assert schema["properties"]["category"]["enum"] == ["IT hardware", "Office supplies", "Other"]
    assert schema["properties"]["amount"]["type"] == "number"
    user = sent["messages"][-1]["content"]
    assert user.endswith("ACME Ltd, 3 laptops, 4,200.00")  # the placeholder became the data
    assert [m["role"] for m in result["conversation"]] == ["system", "user", "assistant"]


def test_an_invalid_answer_is_asked_again_once_with_what_was_wrong(model_server: Any) -> None:
    model_server.answer(
        {"body": completion({"vendor": "ACME Ltd", "amount": "a lot", "category": "Laptops"})},
        {"body": completion(GOOD)},
    )

    result = ask()

    assert result["answer"]["category"] == "IT hardware"
    assert result["calls"] == 2 and result["usage"]["total"] == 240
    second = model_server.received[1].json()["messages"]
    assert second[-2]["role"] == "assistant"
    assert '"amount" must be a number' in second[-1]["content"]
    assert '"category" must be one of "IT hardware"' in second[-1]["content"]
    assert (
        model_server.received[0].headers["Idempotency-Key"]
        != model_server.received[1].headers["Idempotency-Key"]
    )


def test_a_second_invalid_answer_is_a_failure_retrying_cannot_fix(model_server: Any) -> None:
    model_server.answer({"body": completion("I think it is ACME.")})

    with pytest.raises(ConnectorError) as failure:
        ask()

    assert not failure.value.retryable
    assert "invalid twice" in str(failure.value) and "not valid JSON" in str(failure.value)
    assert len(model_server.received) == 2


def test_rate_limit_and_server_errors_are_retryable_then_the_next_attempt_succeeds(model_server: Any) -> None:
    model_server.answer(
        {"status": 429, "body": {"error": {"message": "slow down"}}}, {"body": completion(GOOD)}
    )

    with pytest.raises(ConnectorError) as limited:
        ask()
    assert limited.value.retryable and "429" in str(limited.value)

    assert ask()["answer"]["vendor"] == "ACME Ltd"


def test_a_slow_model_server_is_a_retryable_timeout(model_server: Any) -> None:
    model_server.answer({"body": completion(GOOD), "delay": 2.0})

    with pytest.raises(ConnectorError) as slow:
        ask(timeout="1")

    assert slow.value.retryable and "no answer within 1 s" in str(slow.value)


def test_a_model_server_nobody_answers_at_names_the_connection_to_fix() -> None:
    Connection.objects.create(name="models", base_url="http://127.0.0.1:9/v1", settings={"model": "m"})

    with pytest.raises(ConnectorError) as down:
        ask()

    assert down.value.retryable
    assert str(down.value).startswith("The AI could not be asked through the connection 'models': ")
    assert "An administrator changes its address under Connections in the admin." in str(down.value)


def test_a_server_without_json_schema_is_asked_in_json_mode(model_server: Any) -> None:
    model_server.answer(
        {"status": 400, "body": {"error": "response_format json_schema unsupported"}},
        {"body": completion(GOOD)},
    )

    result = ask()

    assert result["response_format"] == "json_object"
    assert model_server.received[1].json()["response_format"] == {"type": "json_object"}
    # The fields are described in words for a server that reads no schema.
    assert (
        '"category": text, one of "IT hardware"' in model_server.received[1].json()["messages"][0]["content"]
    )


def test_an_answer_cut_off_by_the_budget_is_not_retried(model_server: Any) -> None:
    model_server.answer({"body": completion('{"vendor": "AC', finish="length")})

    with pytest.raises(ConnectorError) as cut:
        ask(max_tokens="20")

    assert not cut.value.retryable and "budget of 20 tokens" in str(cut.value)


def test_the_whole_step_stops_at_its_token_budget_across_calls(model_server: Any) -> None:
    model_server.answer(
        {"body": completion({"vendor": "ACME Ltd", "amount": "a lot", "category": "Laptops"})},
        {"body": completion(GOOD)},
    )

    with pytest.raises(ConnectorError) as spent:
        ask(token_budget="200")  # each call costs 120: the second passes the budget

    assert not spent.value.retryable
    assert "used 240 tokens, more than its budget of 200" in str(spent.value)
    assert len(model_server.received) == 2


def test_the_key_never_reaches_the_record_even_when_the_server_echoes_it(model_server: Any) -> None:
    echoed = {**GOOD, "vendor": f"ACME (key {KEY})"}
    model_server.answer({"status": 500, "body": f"Bearer {KEY} rejected"}, {"body": completion(echoed)})

    with pytest.raises(ConnectorError) as failure:
        ask()
    assert KEY not in str(failure.value)

    result = ask()
    assert KEY not in json.dumps(result)
    assert "[redacted]" in result["answer"]["vendor"]


def test_a_connection_without_a_model_or_unknown_is_a_clear_non_retryable_error(model_server: Any) -> None:
    Connection.objects.filter(name="models").update(settings={})
    with pytest.raises(ConnectorError) as no_model:
        ask()
    assert not no_model.value.retryable and "model" in str(no_model.value)
    model_server.answer({"body": completion(GOOD)})
    assert ask(model="other-model")["answer"]["vendor"] == "ACME Ltd"
    assert model_server.received[-1].json()["model"] == "other-model"

    with pytest.raises(ConnectorError) as unknown:
        ask(connection="nowhere")
    assert "no connection named 'nowhere'" in str(unknown.value)


def test_a_placeholder_without_a_value_names_it() -> None:
    Connection.objects.create(name="models", base_url="http://127.0.0.1:9/v1", settings={"model": "m"})
    with pytest.raises(ConnectorError) as missing:
        ask({"other": "x"})
    assert "{{invoice_text}}" in str(missing.value) and not missing.value.retryable


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "empty"),
        ("[1]", "must be a JSON object"),
        ('{"vendor": 3, "amount": 1, "category": "Other"}', '"vendor" must be text'),
        ('{"vendor": "A", "category": "Other"}', '"amount" is missing'),
        ('{"vendor": "A", "amount": true, "category": "Other"}', '"amount" must be a number'),
    ],
)
def test_answers_are_checked_against_the_declared_fields(content: str, problem: str) -> None:
    with pytest.raises(InvalidAnswer) as invalid:
        check_answer(content, answer_fields(FIELDS))
    assert problem in str(invalid.value)


def test_other_types_are_checked_too() -> None:
    fields = answer_fields(
        [{"name": "n", "type": "integer"}, {"name": "ok", "type": "boolean"}, {"name": "due", "type": "date"}]
    )
    assert check_answer('```json\n{"n": 3.0, "ok": false, "due": "2026-12-31"}\n```', fields) == {
        "n": 3,
        "ok": False,
        "due": "2026-12-31",
    }
    with pytest.raises(InvalidAnswer, match=r'"n" must be a whole number.*"due" must be a date'):
        check_answer('{"n": 3.5, "ok": true, "due": "tomorrow"}', fields)


def test_an_administrator_sets_up_a_model_server_and_never_sees_its_key_again() -> None:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "x"))
    client.post(
        "/admin/orchestration/connection/add/",
        {
            "name": "openai",
            "label": "OpenAI",
            "base_url": "https://api.openai.com/v1",
            "settings": '{"model": "gpt-4o-mini"}',
            "new_headers": json.dumps({"Authorization": f"Bearer {KEY}"}),
        },
    )
    connection = Connection.objects.get(name="openai")
    assert connection.settings == {"model": "gpt-4o-mini"}
    assert connections.secret_headers(connection) == {"Authorization": f"Bearer {KEY}"}
    page = client.get(f"/admin/orchestration/connection/{connection.id}/change/").content.decode()
    assert "gpt-4o-mini" in page and "Authorization" in page and KEY not in page


def test_an_integer_too_large_for_any_use_is_an_invalid_answer_not_a_crash() -> None:
    from orchestration.connectors.ai import AnswerField, InvalidAnswer, check_answer

    fields = [AnswerField("count", "integer")]

    with pytest.raises(InvalidAnswer):
        check_answer('{"count": 1' + "0" * 400 + "}", fields)
    assert check_answer('{"count": 12.0}', fields) == {"count": 12}


def test_an_answer_nested_past_the_stack_is_an_invalid_answer_not_a_crash() -> None:
    from orchestration.connectors.ai import AnswerField, InvalidAnswer, check_answer

    with pytest.raises(InvalidAnswer):
        check_answer("[" * 15000, [AnswerField("items", "list")])


def test_answer_fields_nested_past_the_stack_cannot_be_read_but_do_not_crash() -> None:
    from orchestration.connectors.ai import answer_fields

    with pytest.raises(ValueError, match="must be a list"):
        answer_fields("[" * 3000)


def test_negative_token_counts_from_a_server_are_not_counted(model_server: Any) -> None:
    cheating = completion(GOOD)
    cheating["usage"] = {"prompt_tokens": -5000, "completion_tokens": 20, "total_tokens": -4980}
    model_server.answer({"body": cheating})

    result = ask()

    assert result["usage"] == {"prompt": 0, "answer": 20, "total": 0}
