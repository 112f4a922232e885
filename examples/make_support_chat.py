#!/usr/bin/env python3
"""Writes examples/support_chat.jsonl: a small, realistic OpenAI-format fine-tuning set for a
customer-support assistant (plain answers, order look-ups through a tool, per-message weights).
Deterministic: re-running it reproduces the committed file byte for byte."""

from __future__ import annotations

import json
import random
from pathlib import Path

SYSTEM = ("You are Nova, the support assistant of Northwind Outfitters. Answer in two or three "
          "sentences, be precise about policies, and look orders up with the tool before "
          "answering questions about them.")
TOOLS = [{"type": "function", "function": {
    "name": "get_order_status",
    "description": "Look up an order by its number.",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                   "required": ["order_id"]}}}]
FAQ = [
    ("How long do I have to return an item?",
     "You can return unworn items within 30 days of delivery for a full refund. Start the return "
     "from Orders > Return an item, and we email you a prepaid label."),
    ("Do you ship to Canada?",
     "Yes, we ship to Canada in 5-8 business days. Duties and taxes are shown at checkout, so "
     "there is nothing extra to pay on delivery."),
    ("Can I change the size after I ordered?",
     "If the order has not shipped yet, reply with the new size and I will update it. Once it "
     "has shipped, the quickest way is a free exchange from Orders > Exchange."),
    ("My discount code doesn't work.",
     "Codes apply to full-price items only and expire at midnight UTC on the date shown. If your "
     "code is still valid, tell me the code and I will check it for you."),
    ("Is the Alpine jacket waterproof?",
     "Yes: the Alpine jacket has a 20,000 mm waterproof rating and taped seams. It is rated for "
     "heavy rain and snow, but it is not meant for immersion."),
    ("How do I wash merino wool?",
     "Machine-wash merino cold on a wool cycle and lay it flat to dry. Skip fabric softener and "
     "the dryer, which shrink the fibres."),
    ("Can I pay with PayPal?",
     "Yes, PayPal is available at checkout along with cards, Apple Pay and Klarna."),
    ("Where is your warehouse?",
     "We ship from Reno, Nevada and Leipzig, Germany; the closest warehouse is chosen "
     "automatically at checkout."),
]
STATUS = ["in transit, arriving Thursday", "delivered yesterday at 14:10",
          "being packed, shipping tomorrow", "delayed by the carrier, new estimate Monday"]
OPENERS = ["", "Hi! ", "Hello, ", "Quick question: ", "Hey there. "]


def conversation(rng: random.Random, i: int) -> dict[str, object]:
    msgs: list[dict[str, object]] = [{"role": "system", "content": SYSTEM}]
    if i % 4 == 3:
        order = f"NW-{rng.randint(100000, 999999)}"
        status = rng.choice(STATUS)
        call_id = f"call_{i:04d}"
        msgs += [
            {"role": "user", "content": f"{rng.choice(OPENERS)}Where is my order {order}?"},
            {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function", "function": {
                "name": "get_order_status", "arguments": json.dumps({"order_id": order})}}]},
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps({"status": status})},
            {"role": "assistant", "content": f"Your order {order} is {status}. You will get a "
                                             "tracking update by email at each step."},
        ]
        return {"messages": msgs, "tools": TOOLS}
    q, a = FAQ[i % len(FAQ)]
    msgs += [{"role": "user", "content": rng.choice(OPENERS) + q},
             {"role": "assistant", "content": a}]
    if i % 5 == 0:
        # a weak first answer kept for context but not trained on (weight 0), then a better one
        msgs[-1] = {"role": "assistant", "content": "Let me check that for you.", "weight": 0}
        msgs += [{"role": "user", "content": "Thanks, and?"},
                 {"role": "assistant", "content": a, "weight": 1}]
    return {"messages": msgs}


def main() -> None:
    rng = random.Random(7)
    out = Path(__file__).with_name("support_chat.jsonl")
    with out.open("w", encoding="utf-8") as f:
        for i in range(60):
            f.write(json.dumps(conversation(rng, i), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
