"""The access catalog: the domain of who may see and do what (seeds 000-004).

``model`` (the nouns and a user's :class:`~bridge.catalog.model.Assignment`), ``load``
(YAML → Catalog, validated), ``rules`` (every seed rule, raising ``RuleViolation``),
``mapping`` (facts → Keycloak groups, attributes and token mappers, without calling
Keycloak). Never imports ``bridge.keycloak`` nor Flask. See ``docs/access-catalog.md``.
"""
