"""The simulator's data files, each read once: its scripts, and the demo shop's catalog.

The catalog is the file `desk/demo.py` seeds the demo store from, read by path: the simulator
imports nothing of the server's, and made-up conversations are about products the store sells.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPTS_PATH = Path(__file__).with_name("scenarios.json")
CATALOG_PATH = Path(__file__).resolve().parents[2] / "desk" / "demo_data" / "catalog.json"

Step = dict[str, Any]


@dataclass(frozen=True)
class MadeUp:
    """What a conversation without a cast invents for its customer."""

    first_names: list[str]
    last_names: list[str]
    father_names: list[str]
    email_domains: list[str]
    area_codes: list[str]
    sizes: list[tuple[str, str]]
    streets: list[str]
    cities: list[tuple[str, str, str]]


@dataclass(frozen=True)
class Scripts:
    # The AI's refund authority in these scripts; the desk's policy layer decides for real.
    ai_refund_limit: float
    scenarios: list[dict[str, Any]]
    kinds: dict[str, list[dict[str, Any]]]
    # The steps a platform sends when a human hands the conversation back to the AI.
    release_steps: list[Step]
    # How the simulated customer answers a human agent's reply, and how a customer of these
    # kinds answers the first few (still upset, still grieving, still trying it on).
    customer_replies_to_agent: list[str]
    customer_replies_by_kind: dict[str, list[str]]
    made_up: MadeUp


@dataclass(frozen=True)
class Product:
    name: str
    category: str
    options: dict[str, list[str]]
    low: float
    high: float


@dataclass(frozen=True)
class Catalog:
    products: list[Product]
    subscription_plans: list[str]
    subscription_prices: list[float]
    carriers: list[str]


@functools.cache
def scripts() -> Scripts:
    """The conversation scripts (scenarios.json). Callers must not change what they get."""
    raw = json.loads(SCRIPTS_PATH.read_text(encoding="utf-8"))
    made_up = raw["made_up"]
    kinds: dict[str, list[dict[str, Any]]] = {}
    for scenario in raw["scenarios"]:
        kinds.setdefault(scenario["kind"], []).append(scenario)
    return Scripts(
        ai_refund_limit=float(raw["ai_refund_limit"]),
        scenarios=raw["scenarios"],
        kinds=kinds,
        release_steps=raw["release_steps"],
        customer_replies_to_agent=raw["customer_replies_to_agent"],
        customer_replies_by_kind=raw.get("customer_replies_by_kind", {}),
        made_up=MadeUp(
            first_names=made_up["first_names"],
            last_names=made_up["last_names"],
            father_names=made_up["father_names"],
            email_domains=made_up["email_domains"],
            area_codes=made_up["area_codes"],
            sizes=[(small, large) for small, large in made_up["sizes"]],
            streets=made_up["streets"],
            cities=[(city, state, zip_code) for city, state, zip_code in made_up["cities"]],
        ),
    )


@functools.cache
def catalog() -> Catalog:
    """The demo shop's catalog (desk/demo_data/catalog.json), shared with the demo store."""
    raw = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    return Catalog(
        products=[
            Product(
                name=p["name"],
                category=p["category"],
                options=p["options"],
                low=float(p["price_range"][0]),
                high=float(p["price_range"][1]),
            )
            for p in raw["products"]
        ],
        subscription_plans=raw["subscription_plans"],
        subscription_prices=[float(price) for price in raw["subscription_prices"]],
        carriers=raw["carriers"],
    )
