"""SCIM 2.0 protocol layer (RFC 7643/7644): no storage of its own, no domain. See README.md."""
