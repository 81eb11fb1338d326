"""The Entra ID and Okta guides cannot drift from the server: every SCIM attribute their
mapping tables name is served in ``/scim/v2/Schemas`` (RFC 7643 §7), each access-extension
attribute the server serves is documented, and what they say about tokens is what the
bridge reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bridge.auth import parse_static_tokens
from bridge.provisioning.access_schema import ACCESS_RESOURCES, ACCESS_SCHEMA
from scim.backend import Subject
from scim.blueprint import create_scim_blueprint
from scim.memory import MemoryBackend
from scim.resources import USER_SCHEMA

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = ("entra-id.md", "okta.md")
COMMON = {"id", "externalid", "meta"}
"""Attributes of every resource (RFC 7643 §3.1), not listed in any schema."""
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@pytest.fixture(scope="module")
def served() -> dict[str, dict[str, set[str]]]:
    """``/scim/v2/Schemas`` as served: schema id → attribute (lowercase) → its
    sub-attributes (lowercase)."""
    app = Flask(__name__)
    app.register_blueprint(create_scim_blueprint(MemoryBackend(resources=ACCESS_RESOURCES),
                                                 lambda _header: Subject("docs")))
    answer = app.test_client().get("/scim/v2/Schemas", headers={"Authorization": "Bearer t"})
    assert answer.status_code == 200
    return {schema["id"]: {a["name"].lower(): {s["name"].lower()
                                               for s in a.get("subAttributes") or ()}
                           for a in schema["attributes"]}
            for schema in answer.get_json()["Resources"]}


def mapped_attributes(guide: str) -> list[str]:
    """The SCIM attributes the guide's mapping tables name (the "SCIM attribute" column);
    ``.locality`` after ``addresses[...].streetAddress`` in one cell is relative to it."""
    text = (DOCS / guide).read_text(encoding="utf-8")
    found: list[str] = []
    column = None
    for line in text.splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if column is None:
            column = cells.index("SCIM attribute") if "SCIM attribute" in cells else -1
            continue
        if column < 0 or set(cells[column]) <= {"-", " "}:
            continue
        names = re.findall(r"`([^`]+)`", cells[column])
        for name in names:
            if name.startswith(".") and found:
                name = found[-1].rsplit(".", 1)[0] + name
            found.append(name)
    return found


def _resolve(name: str) -> tuple[str, str, list[str]]:
    """(schema, attribute, sub-attributes named, filters' included) of a SCIM path."""
    schema = USER_SCHEMA
    if name.lower().startswith("urn:"):
        schema, _, name = name.rpartition(":")
    filters = re.findall(r"\[(\w+) eq [^\]]+\]", name)
    bare = re.sub(r"\[[^\]]*\]", "", name)
    attribute, _, sub = bare.partition(".")
    return schema, attribute, [s for s in (sub, *filters) if s]


@pytest.mark.parametrize("guide", GUIDES)
def test_every_attribute_the_guide_maps_is_served(
        guide: str, served: dict[str, dict[str, set[str]]]) -> None:
    names = mapped_attributes(guide)
    assert len(names) >= 20, names  # the tables were read
    for name in names:
        schema, attribute, subs = _resolve(name)
        assert schema in served, f"{guide}: {name}: schema {schema} is not served"
        attributes = served[schema]
        if attribute.lower() in COMMON:
            continue
        assert attribute.lower() in attributes, f"{guide}: {name}: no {attribute} in {schema}"
        for sub in subs:
            assert sub.lower() in attributes[attribute.lower()], (
                f"{guide}: {name}: {attribute} has no sub-attribute {sub}")


@pytest.mark.parametrize("guide", GUIDES)
def test_every_access_extension_attribute_is_documented(
        guide: str, served: dict[str, dict[str, set[str]]]) -> None:
    documented = {_resolve(name)[1].lower() for name in mapped_attributes(guide)
                  if name.startswith(ACCESS_SCHEMA)}
    assert documented == set(served[ACCESS_SCHEMA])


def test_a_misspelt_attribute_would_be_caught(served: dict[str, Any]) -> None:
    schema, attribute, subs = _resolve(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
    assert (attribute, subs) == ("manager", ["value"]) and "value" in served[schema]["manager"]
    _, attribute, subs = _resolve('emails[type eq "work"].value')
    assert (attribute, subs) == ("emails", ["value", "type"])
    assert "departement" not in served[schema]


@pytest.mark.parametrize("guide", GUIDES)
def test_the_guides_give_the_base_url_tokens_and_tenant_binding(guide: str) -> None:
    text = (DOCS / guide).read_text(encoding="utf-8")
    assert "`https://<host>/scim/v2`" in text
    assert "bridge scim token create" in text
    assert "BRIDGE_SCIM_STATIC_TOKENS=name=<sha256 hex>[@tenant]" in text
    assert "`scim` role" in text and "scim_tenant" in text
    # The syntax the guides show is the one the bridge reads.
    (token,) = parse_static_tokens("okta-acme=" + "a" * 64 + "@dossier-acme")
    assert (token.name, token.tenant) == ("okta-acme", "dossier-acme")


def test_entra_flags_and_okta_app_types_are_named() -> None:
    entra = (DOCS / "entra-id.md").read_text(encoding="utf-8")
    assert "aadOptscim062020" in entra and "ADSCIM/2.0/Group" in entra
    okta = (DOCS / "okta.md").read_text(encoding="utf-8")
    assert "**AIW**" in okta and "**OIN**" in okta


def test_groups_map_to_served_group_attributes(served: dict[str, dict[str, set[str]]]) -> None:
    assert {"displayname", "members"} <= set(served[GROUP_SCHEMA])
