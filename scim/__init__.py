"""SCIM 2.0 protocol layer (RFC 7643/7644): no Keycloak, no domain. See README.md."""
