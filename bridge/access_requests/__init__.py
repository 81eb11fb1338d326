"""Access requests (seed 004): a user of the product who may not invite asks for a new
user of one of its tenants; the tenant's responsible approves (the invitation is sent) or
declines (the requester is told why) on the bridge's review pages, after signing in.

- :mod:`.model`: a request and how it is stored (on the requester's Keycloak user);
- :mod:`.service`: the use-cases (:class:`~.service.AccessRequests`), audited;
- :mod:`.mail`, :mod:`.words`: the mails, through the realm's SMTP server, in en/fr/ro;
- :mod:`.web`: the review pages (sign-in through Keycloak, CSRF-protected decisions);
- :mod:`.keycloak`: responsibles and tenants read through the gateway.
"""
