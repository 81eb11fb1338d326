"""One importer per resource kind, in the order they are created (deleted in reverse)."""

from bridge.realm.kinds.admin_permissions import AdminPermissions
from bridge.realm.kinds.base import Kind, RealmContext
from bridge.realm.kinds.client_scopes import (
    ClientScopeMappers,
    ClientScopes,
    RealmDefaultScopes,
    RemovedClientScopes,
)
from bridge.realm.kinds.clients import ClientRoles, Clients, ProtocolMappers, ServiceAccountRoles
from bridge.realm.kinds.components import (
    Components,
    KeyProviders,
    UserFederation,
    UserFederationMappers,
)
from bridge.realm.kinds.composites import DefaultGroups, DefaultRoles, RoleComposites
from bridge.realm.kinds.events import Events
from bridge.realm.kinds.flow_overrides import FlowOverrides
from bridge.realm.kinds.flows import Flows
from bridge.realm.kinds.groups import Groups
from bridge.realm.kinds.identity_providers import IdentityProviderMappers, IdentityProviders
from bridge.realm.kinds.localization import LocalizationTexts
from bridge.realm.kinds.policies import OtpPolicy, WebAuthnPasswordlessPolicy, WebAuthnPolicy
from bridge.realm.kinds.realm_roles import RealmRoles
from bridge.realm.kinds.required_actions import RequiredActions
from bridge.realm.kinds.settings import Settings
from bridge.realm.kinds.tenants import SeedTenants
from bridge.realm.kinds.user_profile import UserProfile

# Roles before the groups and service accounts that map them; scopes removed before the
# clients that would start with them; flows before the realm settings that bind them;
# admin permissions after the settings that enable them (adminPermissionsEnabled); seed
# tenants after the settings that enable organizations.
# Composites and default roles once every role exists; default groups after groups; client
# flow overrides after the flows they name; texts after the settings that add locales; LDAP
# mappers after their provider. Client scopes before the realm defaults and clients that
# name them; identity providers after the flows they bind (first and post broker login),
# their mappers after them.
KINDS: tuple[Kind, ...] = (
    RealmRoles(), UserProfile(), RemovedClientScopes(), ClientScopes(), ClientScopeMappers(),
    RealmDefaultScopes(), Clients(), ClientRoles(),
    ProtocolMappers(), ServiceAccountRoles(), RoleComposites(), DefaultRoles(), Groups(),
    DefaultGroups(), RequiredActions(), Flows(), FlowOverrides(), IdentityProviders(),
    IdentityProviderMappers(), Settings(), SeedTenants(), OtpPolicy(),
    WebAuthnPolicy(), WebAuthnPasswordlessPolicy(), Events(), LocalizationTexts(),
    KeyProviders(), Components(), UserFederation(), UserFederationMappers(),
    AdminPermissions(),
)

__all__ = ["KINDS", "Kind", "RealmContext"]
