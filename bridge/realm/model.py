"""The realm configuration's models: what ``realm-config/`` may say, named as Keycloak's own
representations. Pure pydantic, no I/O: :mod:`bridge.realm.desired` loads files into them,
:mod:`bridge.realm.from_catalog` adds the catalog's fragments, the kinds read them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- realm settings -----------------------------------------------------------------------

class Settings(_Strict):
    """Realm-level settings; names are those of Keycloak's RealmRepresentation."""

    displayName: str | None = None
    displayNameHtml: str | None = None
    enabled: bool | None = None
    internationalizationEnabled: bool | None = None
    supportedLocales: list[str] | None = None
    defaultLocale: str | None = None
    loginTheme: str | None = None
    emailTheme: str | None = None
    passwordPolicy: str | None = None
    bruteForceProtected: bool | None = None
    permanentLockout: bool | None = None
    failureFactor: int | None = None
    waitIncrementSeconds: int | None = None
    maxFailureWaitSeconds: int | None = None
    minimumQuickLoginWaitSeconds: int | None = None
    quickLoginCheckMilliSeconds: int | None = None
    maxDeltaTimeSeconds: int | None = None
    smtpServer: dict[str, str] | None = None
    organizationsEnabled: bool | None = None
    eventsEnabled: bool | None = None
    eventsExpiration: int | None = None
    enabledEventTypes: list[str] | None = None
    adminEventsEnabled: bool | None = None
    adminEventsDetailsEnabled: bool | None = None
    accessTokenLifespan: int | None = None
    accessCodeLifespan: int | None = None
    accessCodeLifespanLogin: int | None = None
    accessCodeLifespanUserAction: int | None = None
    actionTokenGeneratedByAdminLifespan: int | None = None
    actionTokenGeneratedByUserLifespan: int | None = None
    ssoSessionIdleTimeout: int | None = None
    ssoSessionMaxLifespan: int | None = None
    offlineSessionIdleTimeout: int | None = None
    revokeRefreshToken: bool | None = None
    refreshTokenMaxReuse: int | None = None
    verifyEmail: bool | None = None
    loginWithEmailAllowed: bool | None = None
    duplicateEmailsAllowed: bool | None = None
    resetPasswordAllowed: bool | None = None
    rememberMe: bool | None = None
    registrationAllowed: bool | None = None
    editUsernameAllowed: bool | None = None
    sslRequired: Literal["all", "external", "none"] | None = None
    accountTheme: str | None = None
    adminTheme: str | None = None
    browserFlow: str | None = None
    registrationFlow: str | None = None
    directGrantFlow: str | None = None
    resetCredentialsFlow: str | None = None
    clientAuthenticationFlow: str | None = None
    dockerAuthenticationFlow: str | None = None
    firstBrokerLoginFlow: str | None = None
    # Fine-Grained Admin Permissions v2: makes Keycloak's admin-permissions client, which
    # holds the permissions of clients' ``serviceAccountPermissions``.
    adminPermissionsEnabled: bool | None = None
    # Not in Keycloak's realm representation: client scopes the realm must not have, planned
    # by their own kind (bridge.realm.kinds.client_scopes).
    removedClientScopes: list[str] | None = None
    # The client scopes every new client starts with, as default or optional scopes (exact
    # lists, by scope name), planned by their own kind (bridge.realm.kinds.client_scopes).
    defaultDefaultClientScopes: list[str] | None = None
    defaultOptionalClientScopes: list[str] | None = None


# -- roles, clients, mappers ----------------------------------------------------------------

class RoleSet(_Strict):
    """Roles by name: the realm's, and per clientId that client's."""

    realm: list[str] = Field(default_factory=list)
    clients: dict[str, list[str]] = Field(default_factory=dict)


class Role(_Strict):
    name: str
    description: str | None = None
    attributes: dict[str, list[str]] | None = None
    # The roles this one contains (a composite role), planned by their own kind
    # (bridge.realm.kinds.composites): only the members named here are managed.
    composites: RoleSet | None = None


class ProtocolMapper(_Strict):
    name: str
    protocol: str = "openid-connect"
    protocolMapper: str
    config: dict[str, str] = Field(default_factory=dict)


class Client(_Strict):
    clientId: str
    name: str | None = None
    description: str | None = None
    enabled: bool | None = True
    protocol: Literal["openid-connect"] = "openid-connect"
    publicClient: bool | None = None
    secret: str | None = None
    clientAuthenticatorType: str | None = None
    standardFlowEnabled: bool | None = None
    implicitFlowEnabled: bool | None = None
    directAccessGrantsEnabled: bool | None = None
    serviceAccountsEnabled: bool | None = None
    consentRequired: bool | None = None
    fullScopeAllowed: bool | None = None
    frontchannelLogout: bool | None = None
    rootUrl: str | None = None
    baseUrl: str | None = None
    adminUrl: str | None = None
    redirectUris: list[str] | None = None
    webOrigins: list[str] | None = None
    attributes: dict[str, str] | None = None
    defaultClientScopes: list[str] | None = None
    optionalClientScopes: list[str] | None = None
    # Sub-resources, each planned as its own kind.
    # Flows this client logs in with instead of the realm's, by flow alias
    # (bridge.realm.kinds.flow_overrides).
    authenticationFlowBindingOverrides: dict[Literal["browser", "direct_grant"], str] | None = None
    roles: list[Role] = Field(default_factory=list)
    protocolMappers: list[ProtocolMapper] = Field(default_factory=list)
    serviceAccountRoles: ServiceAccountRoles | None = None
    serviceAccountPermissions: list[AdminPermission] = Field(default_factory=list)


class AdminPermission(_Strict):
    """A Fine-Grained Admin Permission (v2) granted to the client's service account: the
    ``scopes`` of ``resourceType`` on exactly ``resources``. Only ``Clients`` is modelled
    (resources are clientIds); needs the realm's ``adminPermissionsEnabled``."""

    name: str
    description: str | None = None
    resourceType: Literal["Clients"] = "Clients"
    scopes: list[Literal["view", "configure", "manage", "map-roles", "map-roles-composite",
                         "map-roles-client-scope"]] = Field(min_length=1)
    resources: list[str] = Field(min_length=1)


class ServiceAccountRoles(_Strict):
    """Exactly the roles a client's service account holds: nothing else survives an apply."""

    realm: list[str] = Field(default_factory=list)
    clients: dict[str, list[str]] = Field(default_factory=dict)


Client.model_rebuild()


# -- groups and flows -----------------------------------------------------------------------

class Group(_Strict):
    name: str
    attributes: dict[str, list[str]] | None = None
    realmRoles: list[str] = Field(default_factory=list)
    clientRoles: dict[str, list[str]] = Field(default_factory=dict)
    subGroups: list[Group] = Field(default_factory=list)


Requirement = Literal["REQUIRED", "ALTERNATIVE", "CONDITIONAL", "DISABLED"]


class AuthenticatorConfig(_Strict):
    alias: str
    config: dict[str, str] = Field(default_factory=dict)


class Execution(_Strict):
    """One step of a flow: an ``authenticator`` or a sub-``flow`` with its own steps.

    A sub-flow that also names an ``authenticator`` is a *form* flow (``form-flow``): the
    authenticator is the form (``registration-page-form``) and the steps are its form
    actions (``registration-user-creation``...), as Keycloak's own registration flow."""

    authenticator: str | None = None
    flow: str | None = None
    description: str | None = None
    requirement: Requirement = "DISABLED"
    config: AuthenticatorConfig | None = None
    executions: list[Execution] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_step(self) -> Execution:
        if not self.authenticator and not self.flow:
            raise ValueError("an execution names an authenticator or a flow")
        if self.executions and not self.flow:
            raise ValueError("only a sub-flow (flow) has executions")
        return self


class Flow(_Strict):
    alias: str
    description: str = ""
    # client-flow: a flow of client authenticators (settings.clientAuthenticationFlow).
    providerId: Literal["basic-flow", "client-flow"] = "basic-flow"
    executions: list[Execution] = Field(default_factory=list)


class UserProfile(_Strict):
    """Keycloak's declarative user profile. Attributes are merged by name into the live
    profile (Keycloak's own username, email, firstName, lastName stay unless redeclared)."""

    unmanagedAttributePolicy: Literal["ENABLED", "ADMIN_EDIT", "ADMIN_VIEW"] | None = None
    attributes: list[dict[str, Any]] = Field(default_factory=list)


# -- client scopes and identity providers --------------------------------------------------

class ClientScope(_Strict):
    """A client scope with its protocol mappers; clients name it in their default or
    optional scopes, the realm in ``settings.defaultDefaultClientScopes``."""

    name: str
    description: str | None = None
    protocol: Literal["openid-connect", "saml"] = "openid-connect"
    # e.g. include.in.token.scope, display.on.consent.screen, consent.screen.text
    attributes: dict[str, str] | None = None
    protocolMappers: list[ProtocolMapper] = Field(default_factory=list)


class IdentityProviderMapper(_Strict):
    name: str
    identityProviderMapper: str
    config: dict[str, str] = Field(default_factory=dict)


class IdentityProvider(_Strict):
    """An upstream IdP users sign in through (Entra ID, Okta, Google, another Keycloak...).
    ``config`` is Keycloak's (issuer, clientId, clientSecret as ``${VAR}``, URLs...)."""

    alias: str
    displayName: str | None = None
    # Keycloak 26's providers: generic OIDC and SAML, another Keycloak, the social ones.
    providerId: Literal["oidc", "keycloak-oidc", "saml", "google", "microsoft", "github",
                        "gitlab", "bitbucket", "facebook", "linkedin-openid-connect",
                        "instagram", "paypal", "stackoverflow", "twitter", "openshift-v4"]
    enabled: bool | None = True
    trustEmail: bool | None = None
    storeToken: bool | None = None
    addReadTokenRoleOnCreate: bool | None = None
    linkOnly: bool | None = None
    hideOnLogin: bool | None = None
    firstBrokerLoginFlowAlias: str | None = None
    postBrokerLoginFlowAlias: str | None = None
    config: dict[str, str] = Field(default_factory=dict)
    mappers: list[IdentityProviderMapper] = Field(default_factory=list)


# -- required actions, policies, events, texts, components ----------------------------------

class RequiredAction(_Strict):
    """A required action, by alias (``CONFIGURE_TOTP``, ``webauthn-register``...)."""

    alias: str
    name: str | None = None
    enabled: bool | None = None
    defaultAction: bool | None = None
    priority: int | None = None
    config: dict[str, str] | None = None


class OtpPolicy(_Strict):
    """The realm's OTP policy (realm fields ``otpPolicy<Name>``)."""

    type: Literal["totp", "hotp"] | None = None
    algorithm: Literal["HmacSHA1", "HmacSHA256", "HmacSHA512"] | None = None
    digits: Literal[6, 8] | None = None
    period: int | None = Field(default=None, ge=1)
    initialCounter: int | None = Field(default=None, ge=0)
    lookAheadWindow: int | None = Field(default=None, ge=0)
    codeReusable: bool | None = None


class WebAuthnPolicy(_Strict):
    """A WebAuthn policy (realm fields ``webAuthnPolicy<Name>``, or
    ``webAuthnPolicyPasswordless<Name>`` for the passwordless one)."""

    rpEntityName: str | None = None
    signatureAlgorithms: list[Literal["ES256", "ES384", "ES512", "RS256", "RS384", "RS512",
                                      "RS1", "Ed25519"]] | None = None
    rpId: str | None = None
    attestationConveyancePreference: Literal["not specified", "none", "indirect",
                                             "direct"] | None = None
    authenticatorAttachment: Literal["not specified", "platform", "cross-platform"] | None = None
    requireResidentKey: Literal["not specified", "Yes", "No"] | None = None
    userVerificationRequirement: Literal["not specified", "required", "preferred",
                                         "discouraged"] | None = None
    createTimeout: int | None = Field(default=None, ge=0)
    avoidSameAuthenticatorRegister: bool | None = None
    acceptableAaguids: list[str] | None = None
    extraOrigins: list[str] | None = None


class Events(_Strict):
    """What the realm records and who hears it (Keycloak's events config)."""

    eventsListeners: list[str] | None = None
    eventsEnabled: bool | None = None
    eventsExpiration: int | None = Field(default=None, ge=1)
    enabledEventTypes: list[str] | None = None
    adminEventsEnabled: bool | None = None
    adminEventsDetailsEnabled: bool | None = None


ConfigValue = str | int | bool | list[str]


class KeyProvider(_Strict):
    """A realm key provider (``rsa-generated``, ``hmac-generated``, ``rsa``...), by name.
    Secret config values (a private key, a keystore password) come from ``${VAR}``."""

    name: str
    providerId: str
    config: dict[str, ConfigValue] = Field(default_factory=dict)


class Component(_Strict):
    """Any other realm component (e.g. a client registration policy), by type, sub-type
    and name."""

    name: str
    providerId: str
    providerType: str
    subType: str | None = None
    config: dict[str, ConfigValue] = Field(default_factory=dict)


class LdapMapper(_Strict):
    name: str
    providerId: str
    config: dict[str, ConfigValue] = Field(default_factory=dict)


class UserFederation(_Strict):
    """An LDAP user federation provider and its mappers. Only what is declared is applied;
    the bridge never syncs users nor tests the connection (an operator's action)."""

    name: str
    providerId: Literal["ldap"] = "ldap"
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    mappers: list[LdapMapper] = Field(default_factory=list)

    @model_validator(mode="after")
    def _connection(self) -> UserFederation:
        if not self.config.get("connectionUrl"):
            raise ValueError("config.connectionUrl is required (ldap:// or ldaps://)")
        url = self.config["connectionUrl"]
        if not isinstance(url, str) or not url.startswith(("ldap://", "ldaps://")):
            raise ValueError("config.connectionUrl must be an ldap:// or ldaps:// URL")
        return self


class SeedTenant(_Strict):
    """A catalog's seed tenant: the organization created when no tenant has its alias."""

    alias: str
    catalog: str
    representation: dict[str, Any]


class RealmConfig(_Strict):
    realm: str
    settings: Settings = Field(default_factory=Settings)
    userProfile: UserProfile | None = None
    roles: list[Role] = Field(default_factory=list)
    clients: list[Client] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)
    # Members of the realm's default-roles-<realm> composite, and groups every new user
    # joins (by path): only the members named are managed.
    defaultRoles: RoleSet | None = None
    defaultGroups: list[str] = Field(default_factory=list)
    requiredActions: list[RequiredAction] = Field(default_factory=list)
    otpPolicy: OtpPolicy | None = None
    webAuthnPolicy: WebAuthnPolicy | None = None
    webAuthnPasswordlessPolicy: WebAuthnPolicy | None = None
    events: Events | None = None
    # Locale → message key → text (overrides the theme's messages).
    localization: dict[str, dict[str, str]] | None = None
    keys: list[KeyProvider] = Field(default_factory=list)
    components: list[Component] = Field(default_factory=list)
    userFederation: list[UserFederation] = Field(default_factory=list)
    clientScopes: list[ClientScope] = Field(default_factory=list)
    identityProviders: list[IdentityProvider] = Field(default_factory=list)
    # Where each item came from, for messages naming a file and a key path (set by
    # bridge.realm.desired): top-level list → [(file, index in that file)], and scalar
    # key → file.
    _origin: dict[str, list[tuple[str, int]]] = PrivateAttr(default_factory=dict)
    _scalar_origin: dict[str, str] = PrivateAttr(default_factory=dict)
    # Key path of a secret given as ``${VAR}`` → VAR (e.g. ``client:hr-system.secret`` →
    # HR_SCIM_CLIENT_SECRET): recorded in the realm so that an export writes the same name.
    _variables: dict[str, str] = PrivateAttr(default_factory=dict)
    # The catalog's seed tenants (set by bridge.realm.from_catalog; not a key of the files).
    _seed_tenants: list[SeedTenant] = PrivateAttr(default_factory=list)

    def where(self, top: str, index: int | None = None) -> tuple[str, str]:
        """The file and the key path (``groups[2]``) of item ``index`` of ``top``, as
        written in that file; ``("?", top)`` when not known (made from the catalog)."""
        if index is None:
            return self._scalar_origin.get(top, "?"), top
        items = self._origin.get(top, [])
        if index < len(items):
            path, local = items[index]
            return path, f"{top}[{local}]"
        return "?", f"{top}[{index}]"
