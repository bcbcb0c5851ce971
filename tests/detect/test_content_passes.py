"""Prompt diversity and chain-of-thought elicitation on hand-made traffic."""

from __future__ import annotations

from distillscan.detect import cot_elicitation, prompt_diversity
from tests.detect.conftest import EventsFactory, context, event

BROAD = [
    "Write a Python function that parses ISO dates and add unit tests",
    "Solve the equation 3x + 7 = 22 and check the result",
    "Which of the following is a logical fallacy? Deduce the answer",
    "Plan the subtasks an agent needs to migrate a database, then orchestrate them",
    "Click the login button in the browser and take a screenshot",
    "Write a short poem about the sea",
    "Translate this paragraph into French",
    "Summarize this email for my manager",
    "What is the history of the printing press?",
    "Analyze the data in this CSV and fit a regression",
]
ELICIT = [
    "Think step by step and show your reasoning: {}",
    "请一步一步地思考，并写出详细推理过程：{}",
    "Resuelve paso a paso y justifica tu respuesta: {}",
    "Подумай шаг за шагом и покажи ход рассуждений: {}",
]


def test_broad_single_shot_account_scores_breadth(events_con: EventsFactory) -> None:
    harvest = [event("harvest", i, BROAD[i % len(BROAD)]) for i in range(100)]
    narrow = [
        event("support-bot", i, f"Summarize this support ticket #{i} in two sentences")
        for i in range(100)
    ]
    chatty = [
        event("person", i, BROAD[i % len(BROAD)], has_history=i % 3 != 0, n_turns=3)
        for i in range(100)
    ]
    out = prompt_diversity.run(context(events_con(harvest + narrow + chatty), "prompt_diversity"))
    rows = {r["account_id"]: r for r in out.signals.iter_rows(named=True)}
    assert rows["harvest"]["n_capabilities"] >= 8
    assert rows["harvest"]["breadth_signal"] > 0.8
    assert rows["support-bot"]["breadth_signal"] == 0.0
    assert rows["person"]["single_shot_share"] < 0.4
    assert rows["person"]["breadth_signal"] == 0.0


def test_elicitation_in_four_languages_beats_ordinary_traffic(events_con: EventsFactory) -> None:
    rows = []
    for account in range(6):  # ordinary accounts: occasional "step by step"
        for i in range(40):
            text = "Explain step by step how tides work" if i % 10 == 0 else BROAD[i % 10]
            rows.append(event(f"ordinary-{account}", i, text))
    for i in range(40):
        rows.append(event("harvest", i, ELICIT[i % 4].format(BROAD[i % 10]), n_choices=4))
    out = cot_elicitation.run(context(events_con(rows), "cot_elicitation"))
    signals = {r["account_id"]: r for r in out.signals.iter_rows(named=True)}
    assert signals["harvest"]["elicitation_share"] == 1.0
    assert signals["harvest"]["cot_step_by_step"] == 1.0
    assert signals["harvest"]["asks_multiple"] == 1.0
    assert signals["harvest"]["elicitation_signal"] > 0.8
    assert signals["ordinary-0"]["elicitation_signal"] == 0.0
    evidence = out.evidence.filter(out.evidence["account_id"] == "harvest")
    assert evidence.height == 3
    assert set(evidence["source_file"]) == {"test.jsonl"}


def test_a_phrase_everyone_uses_is_not_evidence(events_con: EventsFactory) -> None:
    # A tutoring product: every account's prompts say "step by step".
    rows = [
        event(f"student-{a}", i, f"Explain step by step: {BROAD[i % 10]}")
        for a in range(5)
        for i in range(30)
    ]
    out = cot_elicitation.run(context(events_con(rows), "cot_elicitation"))
    assert out.signals["elicitation_signal"].max() == 0.0


PARAPHRASES = [
    "Explain your logic at each stage, then give the final answer.",
    "Talk me through it as if you were at a whiteboard.",
    "Lay out the intermediate steps explicitly.",
    "I want the rationale first and the answer last.",
    "Narrate each deduction so that I can check it.",
    "Start from first principles and build up to the answer.",
    "Describe your problem-solving process in full before answering.",
    "Go slowly and justify every step.",
]
ORDINARY = [
    "explain how photosynthesis works",
    "what are the steps to bake sourdough bread?",
    "list the steps to install python on windows",
    "describe the history of the printing press",
]


def test_paraphrased_elicitation_is_found_without_a_fixed_phrase(
    events_con: EventsFactory,
) -> None:
    """A low-and-slow operator rewords every request for reasoning; none of it is 'step by step'."""
    slow = [
        event("paraphraser", i * 90, f"{PARAPHRASES[i % 8]}\n\n{BROAD[i % len(BROAD)]}")
        for i in range(40)
    ]
    people = [
        event(f"person-{p}", p * 7 + i, ORDINARY[(p + i) % 4]) for p in range(10) for i in range(12)
    ]
    out = cot_elicitation.run(context(events_con(slow + people), "cot_elicitation"))
    rows = {r["account_id"]: r for r in out.signals.iter_rows(named=True)}
    assert rows["paraphraser"]["elicitation_share"] == 1.0
    assert rows["paraphraser"]["elicitation_signal"] > 0.5
    assert max(rows[f"person-{p}"]["elicitation_share"] for p in range(10)) == 0.0
