"""Invitations and lifecycle: the use-cases behind ``/api/v1`` and ``bridge invite``/``user``.

An **invitation** is a Keycloak user that has not activated its account yet. Inviting:

1. the catalog checks the facts (:func:`bridge.catalog.rules.check_assignment`) and, when a
   user of the product acts, whether it may give them (``check_delegation``: seed 004's
   dossier Administrators within their own dossiers, seed 001's "may grant client access",
   never a profile above the actor's own nor a perimeter outside it);
2. one ``POST /users`` creates the user, enabled, with its e-mail, ``locale``, the catalog's
   attributes and groups (``mapping.user_state``), the invitation's own attributes
   (``invitation.*``, below) and the required actions UPDATE_PASSWORD and VERIFY_EMAIL
   (+ CONFIGURE_TOTP where the catalog requires MFA, seed 003);
3. Keycloak mails the activation link (``execute-actions-email`` with a lifespan) in the
   invitee's language: the ``locale`` attribute chooses the language (en, fr, ro) of the
   project's invitation mail (themes/bridge, which names the inviter, the dossier or perimeter
   and the expiry from the ``invitation.*`` attributes). If the mail
   cannot be sent, the user is deleted again: there is never an invitation nobody received.

An e-mail that already has an account never gets a second one: the outcome says whether it
is ``already-invited`` (pending) or ``already-active``.

**Pending** = UPDATE_PASSWORD still required and ``invitation.sentAt`` present; it is
**expired** once ``invitation.expiresAt`` is past (Keycloak refuses the link by then). Revoking
deletes the pending user, so its link leads nowhere. Resending mails a new link with a new
expiry (the previous link stays valid until its own expiry: Keycloak's action tokens cannot be
revoked one by one).

**Lifecycle**: deactivate (disabled + every session ended: refresh tokens fail), reactivate,
delete, change profile, toggles, perimeter or tenants, through the same catalog path as SCIM
(attributes the catalog owns replaced, groups under ``/bridge/catalog`` reconciled, others
untouched).

**Actors**: an :class:`Actor` is either an operator (CLI, the bridge's service account: no
delegation check, every catalog rule still checked) or a user of the product whose facts
are read from its Keycloak user at each request (not from its token's claims, which may be
up to one token lifetime stale; a deactivated actor is refused at once).

**Audit**: every use-case writes one JSON line to the ``bridge.audit`` logger (time, actor,
action, target, outcome, and the rule of a refusal); never a token, password or link.

Keycloak is reached only through :class:`Directory`, whose Keycloak implementation
(:class:`KeycloakDirectory`) calls the gateway functions of :mod:`bridge.keycloak.users` and
:mod:`bridge.keycloak.groups`.

The package is split by job: :mod:`.errors` (the refusals, with their wire identity),
:mod:`.values` (what the use-cases take and answer), :mod:`.audit` (the audit line),
:mod:`.directory` (the :class:`Directory` port and its Keycloak adapter) and :mod:`.service`
(:class:`AccessAdministration`, the use-cases). Every public name is re-exported here.
"""

from bridge.invitations.audit import Audited
from bridge.invitations.directory import Directory, DirectoryWriter, KeycloakDirectory
from bridge.invitations.errors import (
    AccessDenied,
    CatalogNotApplied,
    Conflict,
    InvalidRequest,
    InvariantRefused,
    LifecycleError,
    NotFound,
    RuleRefused,
    Unavailable,
)
from bridge.invitations.service import AccessAdministration
from bridge.invitations.values import (
    CLIENT_ID,
    DEFAULT_LIFESPAN,
    EXPIRES_AT,
    INVITATION_ATTRIBUTES,
    INVITED_BY,
    LANGUAGES,
    LOCALE,
    MAX_LIFESPAN,
    PENDING,
    REDIRECT_URI,
    SENT_AT,
    UPDATE_PASSWORD,
    VERIFY_EMAIL,
    Account,
    Actor,
    Facts,
    Invitation,
    InvitationRequest,
    InviteResult,
    NewAccount,
    Page,
    Profile,
    User,
)

__all__ = [
    "CLIENT_ID", "DEFAULT_LIFESPAN", "EXPIRES_AT", "INVITATION_ATTRIBUTES", "INVITED_BY",
    "LANGUAGES", "LOCALE", "MAX_LIFESPAN", "PENDING", "REDIRECT_URI", "SENT_AT",
    "UPDATE_PASSWORD", "VERIFY_EMAIL",
    "AccessAdministration", "AccessDenied", "Account", "Actor", "Audited",
    "CatalogNotApplied", "Conflict",
    "Directory", "DirectoryWriter", "Facts", "InvalidRequest", "InvariantRefused", "Invitation",
    "InvitationRequest", "InviteResult", "KeycloakDirectory", "LifecycleError", "NewAccount",
    "NotFound", "Page", "Profile", "RuleRefused", "Unavailable", "User",
]
