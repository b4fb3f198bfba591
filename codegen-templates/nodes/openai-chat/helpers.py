from typing import Any

from openai import OpenAI


def openai_chat(
    model: str,
    prompt: str,
    system: str,
    temperature: float | None,
    max_tokens: int | None,
    base_url: str | None,
    api_key: str | None,
) -> dict[str, Any]:
    """Asks a chat model through the OpenAI API, or the OpenAI-compatible server at
    `base_url`, and returns {"text", "model", "usage"}."""
    client = OpenAI(base_url=base_url or None, api_key=api_key or None)
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    options: dict[str, Any] = {}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    completion = client.chat.completions.create(
        model=model, messages=messages, **options
    )
    usage = completion.usage
    return {
        "text": completion.choices[0].message.content or "",
        "model": completion.model,
        "usage": {
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
            "total_tokens": usage.total_tokens if usage else None,
        },
    }
